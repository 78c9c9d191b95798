#pragma once
// A FIFO counting semaphore with deadlines: `capacity` leases, handed to waiters strictly in
// the order they asked. A returned lease goes straight to the oldest waiter (never back into a
// free count a newcomer could grab first), so order holds without timing assumptions.
//
// Threading: every member runs on the one thread of the executor given at construction.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <utility>

namespace rotor::pool {

class lease_queue {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    lease_queue(boost::asio::any_io_executor executor, std::size_t capacity);
    lease_queue(const lease_queue&) = delete;
    lease_queue& operator=(const lease_queue&) = delete;

    /// True once one of the leases is the caller's; false when `deadline` passed first (the
    /// caller is then out of the line). Throws pool::error(stopped) once close() was called,
    /// also while waiting.
    boost::asio::awaitable<bool> take(time_point deadline);
    /// A lease ends: the oldest waiter gets it, or it is free.
    void give_back();
    /// Fails every waiter with stopped; take() throws at once from now on. Idempotent.
    void close();

    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t in_use() const noexcept { return capacity_ - free_; }
    std::size_t waiting() const noexcept { return waiters_.size(); }
    bool closed() const noexcept { return closed_; }

  private:
    struct waiter;
    boost::asio::any_io_executor executor_;
    std::size_t capacity_;
    std::size_t free_;
    std::deque<waiter*> waiters_;
    bool closed_ = false;
};

} // namespace rotor::pool

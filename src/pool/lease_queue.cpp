#include "pool/lease_queue.hpp"

#include "pool/errors.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cassert>

namespace rotor::pool {

namespace asio = boost::asio;

struct lease_queue::waiter {
    enum class state { waiting, granted, closed };
    explicit waiter(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    state st = state::waiting;
};

lease_queue::lease_queue(asio::any_io_executor executor, std::size_t capacity)
    : executor_(std::move(executor)), capacity_(capacity), free_(capacity) {}

asio::awaitable<bool> lease_queue::take(time_point deadline) {
    if (closed_) throw error(errc::stopped, "acquire: the pool is stopping");
    if (free_ > 0 && waiters_.empty()) {
        --free_;
        co_return true;
    }
    waiter w(executor_);
    w.timer.expires_at(deadline);
    waiters_.push_back(&w);
    try {
        co_await w.timer.async_wait(asio::use_awaitable);
    } catch (const boost::system::system_error&) {
        // cancelled: granted or closed, read below
    }
    // A grant that raced with the deadline wins: the lease is already counted as ours.
    if (w.st == waiter::state::granted) co_return true;
    if (w.st == waiter::state::closed) throw error(errc::stopped, "acquire: the pool is stopping");
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), &w), waiters_.end());
    co_return false;
}

void lease_queue::give_back() {
    if (!waiters_.empty()) {
        waiter* w = waiters_.front();
        waiters_.pop_front();
        w->st = waiter::state::granted;
        w->timer.cancel();
        return;
    }
    assert(free_ < capacity_);
    if (free_ < capacity_) ++free_;
}

void lease_queue::close() {
    closed_ = true;
    while (!waiters_.empty()) {
        waiter* w = waiters_.front();
        waiters_.pop_front();
        w->st = waiter::state::closed;
        w->timer.cancel();
    }
}

} // namespace rotor::pool

#pragma once
// The pool thread's state and the lease life cycle: acquire (queue, slot, prepare within the
// deadline), release (rotation, drain, next in line), memory reports, and the stats snapshot
// published for readers on other threads.

#include "pool/browser_pool.hpp"
#include "pool/detail/fleet.hpp"
#include "pool/detail/page_slots.hpp"
#include "pool/histogram.hpp"
#include "pool/lease_queue.hpp"
#include "pool/memory_sampler.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace rotor::pool {

struct browser_pool::core {
    using clock_rep = std::chrono::steady_clock::rep;
    core(const pool_options& o, std::vector<std::string> flags, browser_pool* owner);
    ~core();

    /// Posts `f` to the pool thread unless it has stopped; false then. Any thread.
    template <typename F> bool post(F&& f) {
        std::lock_guard lock(run_mutex);
        if (!running) return false;
        boost::asio::post(io, std::forward<F>(f));
        return true;
    }

    // Pool thread.
    boost::asio::awaitable<page_lease> acquire(cdp::page_profile profile, milliseconds timeout);
    void release(std::size_t slot, std::uint64_t generation, item_outcome outcome);
    /// Before the pool thread starts.
    void start_sampler();
    void start_timers();
    void publish();
    void check_leases_done();

    const pool_options& options;
    browser_pool* owner;
    // Destroyed first (~core resets it): coroutine frames still suspended on it are destroyed
    // while the members their destructors touch (fleet, slots, counters) still exist.
    std::optional<boost::asio::io_context> io_storage{std::in_place, 1};
    boost::asio::io_context& io = *io_storage;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
        boost::asio::make_work_guard(io)};
    boost::asio::thread_pool blocking; // launches and closes block for hundreds of milliseconds
    std::thread thread;
    pool_stats totals;
    detail::fleet fleet;
    detail::page_slots slots;
    lease_queue queue;
    std::unique_ptr<memory_sampler> sampler;
    std::size_t preparing = 0; // slots taken by an acquire that is still opening their page

    histogram acquire_wait; // any thread
    histogram navigation;   // any thread

    std::atomic<bool> stopping{false};
    // Since when no browser serves (steady clock ticks; 0: one does). Read by stats().
    std::atomic<clock_rep> no_browser_since{0};
    std::atomic<int> acquires{0}; // entered acquire() and not yet finished, any thread
    std::mutex drain_mutex;
    std::mutex run_mutex;
    bool running = false; // the pool thread takes posts (under run_mutex)
    // Set by drain() on the pool thread; fulfilled when the last lease ends.
    std::shared_ptr<std::promise<void>> leases_done;

    mutable std::mutex published_mutex;
    std::shared_ptr<const pool_stats> published;
    std::vector<std::shared_ptr<cdp::client>> published_clients;
    std::vector<pid_t> published_pids;

  private:
    struct attempt;
    boost::asio::awaitable<void> run_prepare(std::size_t i, cdp::page_profile profile,
                                             std::chrono::steady_clock::time_point deadline,
                                             std::shared_ptr<attempt> at);
    void give_back_unused(std::size_t i);
    void on_memory(std::vector<memory_sampler::reading> readings);
};

} // namespace rotor::pool

#pragma once
// The pool's browsers: first launch, relaunch with backoff, recycling (drain first, then
// replace), death, wedged browsers, and the browser contexts of each. Pool thread only.
//
// A recycled browser stops taking leases at once, is closed when its last lease ends, and its
// replacement is launched once it is gone. Launching the replacement first (as rotor did) kept
// two process trees alive through every recycle, and even overlapping the replacement's start
// with the old one's exit puts two browser bases (~270 MB each: browser, GPU, network, zygotes)
// on top of each other: the peak PSS was set by those overlaps, not by the steady level.

#include "cdp/page_profile.hpp"
#include "pool/browser_pool.hpp"
#include "pool/detail/browser_entry.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

namespace rotor::pool::detail {

enum class recycle_reason { count, memory, hang };

class fleet {
  public:
    using time_point = std::chrono::steady_clock::time_point;
    struct hooks {
        // Drop the idle pages (slots not leased) that live in this browser.
        std::function<void(const std::shared_ptr<browser_entry>&)> drop_idle_pages;
        // Something changed that waiters or the published stats care about.
        std::function<void()> changed;
    };

    fleet(boost::asio::io_context& io, boost::asio::thread_pool& blocking,
          const pool_options& options, std::vector<std::string> flags, pool_stats& totals, hooks h);

    /// A browser launched before the pool thread started.
    void adopt(std::shared_ptr<cdp::browser> b);
    /// A new entry, launched in the background until it works (backoff between failures).
    void launch_new();

    /// The serving browser with the fewest leases, or null.
    std::shared_ptr<browser_entry> pick() const;
    /// Waits until a browser changes state (ready, dead, unhealthy) or `deadline`.
    boost::asio::awaitable<void> wait_for_change(time_point deadline);

    /// The current context of `profile` in `b` (cdp::create_profile_context), created once for
    /// all who ask meanwhile. Throws cdp::error (browser_closed when `b` stopped serving: retry
    /// elsewhere; invalid_profile for a profile that cannot be applied).
    boost::asio::awaitable<std::shared_ptr<context_entry>>
    context_for(std::shared_ptr<browser_entry> b, cdp::page_profile profile);

    void recycle(const std::shared_ptr<browser_entry>& b, recycle_reason why);
    void mark_wedged(const std::shared_ptr<browser_entry>& b, const std::string& why);
    void handle_dead(std::shared_ptr<browser_entry> b);
    /// Handles browsers whose connection closed since the last look.
    void check_connections();
    /// A lease on `b` ended (or a page opening on it finished): finishes a drain or forgets a
    /// dead browser once nothing uses it.
    void lease_ended(const std::shared_ptr<browser_entry>& b);

    /// No more launches or relaunches from now on (a drain has begun).
    void stop_launching();
    /// No more launches; returns every live process for the caller to close.
    std::vector<std::shared_ptr<cdp::browser>> stop();
    bool stopping() const noexcept { return stopping_; }

    const std::list<std::shared_ptr<browser_entry>>& browsers() const { return browsers_; }
    bool healthy() const noexcept { return healthy_; }
    const std::string& unhealthy_reason() const noexcept { return unhealthy_reason_; }
    /// Command timeouts of browsers already closed (live ones are read from their clients).
    std::uint64_t closed_command_timeouts() const noexcept { return closed_command_timeouts_; }
    std::string describe() const;

  private:
    boost::asio::awaitable<void> launch_into(std::shared_ptr<browser_entry> b);
    boost::asio::awaitable<std::shared_ptr<cdp::browser>> launch_one();
    // Closes `b` on the blocking pool; `then` runs on the pool thread once it is gone.
    void close_in_background(std::shared_ptr<cdp::browser> b, std::function<void()> then = {});
    void finish_drain(std::shared_ptr<browser_entry> b);
    bool replacing_another(const std::shared_ptr<browser_entry>& b) const;
    void notify();

    boost::asio::io_context& io_;
    boost::asio::thread_pool& blocking_;
    const pool_options& options_;
    cdp::browser_options browser_options_;
    pool_stats& totals_;
    hooks hooks_;
    std::list<std::shared_ptr<browser_entry>> browsers_;
    std::vector<boost::asio::steady_timer*> change_waiters_;
    std::uint64_t next_id_ = 0;
    std::size_t consecutive_launch_failures_ = 0;
    bool healthy_ = true;
    std::string unhealthy_reason_;
    bool stopping_ = false;
    std::size_t replacing_ = 0; // drained browsers closing, their replacements not yet launched
    // Read by launches on the blocking pool: one that finishes after stop() closes its browser.
    std::shared_ptr<std::atomic<bool>> stop_flag_ = std::make_shared<std::atomic<bool>>(false);
    std::uint64_t closed_command_timeouts_ = 0;
};

} // namespace rotor::pool::detail

#pragma once
// A pool of Chromium processes that hands out page leases and keeps memory flat: pages rotate
// every N items, contexts every M, browsers are recycled on an item count or a PSS budget, a dead
// browser is relaunched with backoff, and a page that will not close is forced out.
//
// Threading: pool state lives on the pool's own I/O thread; acquire() may be awaited from any
// executor, acquire_blocking() called from any plain thread, a lease released from anywhere, and
// stats() read from anywhere without waiting for the pool thread. The pool must outlive its
// leases. After drain() or stop(), every call fails at once with errc::stopped.
//
// The parts (src/pool/detail): fleet (the browsers), page_slots (pages for leases), lease_queue
// (who is next), memory_sampler (PSS on its own thread).

#include "cdp/browser.hpp"
#include "cdp/page_profile.hpp"
#include "pool/errors.hpp"
#include "pool/launch_flags.hpp"
#include "pool/pool_stats.hpp"
#include "pool/rotation.hpp"
#include "pool/shm.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace rotor::pool {

using std::chrono::milliseconds;

struct pool_options {
    std::size_t browsers = 1;                    // Chromium processes
    std::size_t concurrency = 4;                 // page leases out at once, over all browsers
    rotation_limits rotation;                    // page 10 / context 50 / browser 500 / memory
    milliseconds memory_sample_interval{2000};   // PSS of each browser tree is read this often
    shm_mode shm = shm_mode::auto_detect;        // see shm.hpp for the rule
    std::filesystem::path shm_path = "/dev/shm"; // what `auto` measures
    flag_options flags;                          // process model, user agent, proxy, extras
    cdp::browser_options browser;                // executable, profile root, timeouts
    milliseconds relaunch_backoff{500};          // first wait before relaunching a dead browser
    milliseconds relaunch_backoff_max{30000};    // backoff doubles up to this
    std::size_t unhealthy_after = 3;             // consecutive failed launches -> unhealthy
    milliseconds page_close_timeout{10000};      // a page not gone by then: browser recycled
    milliseconds zombie_sweep_interval{10000};   // reaps orphaned Chromium processes this often
    milliseconds drain_timeout{120000};          // a recycled browser closes under leases after
    milliseconds no_browser_unhealthy{60000};    // no browser serving this long: unhealthy
};

/// How the item on a lease ended; decides whether its page may serve again.
enum class item_outcome {
    ok,        // done; the page may serve the next item (until its rotation)
    failed,    // the item failed (404, no price...) but the page is fine
    broken,    // the page is unusable (timeout mid-navigation, crash): replace it
    abandoned, // the lease was dropped without release(): treated as broken
};

class browser_pool;

/// One page, lent for one item. Release it (or let it go out of scope) when the item is done.
class page_lease {
  public:
    page_lease() = default;
    page_lease(page_lease&& other) noexcept;
    page_lease& operator=(page_lease&& other) noexcept;
    page_lease(const page_lease&) = delete;
    page_lease& operator=(const page_lease&) = delete;
    ~page_lease();

    cdp::page& page() const { return *page_; }
    const std::shared_ptr<cdp::page>& page_ptr() const { return page_; }
    /// The pool's id of the browser this page lives in (changes when browsers are recycled).
    std::uint64_t browser_id() const noexcept { return browser_id_; }
    explicit operator bool() const noexcept { return pool_ != nullptr; }

    /// Returns the page to the pool, from any thread (not concurrently with another call on the
    /// same lease); the second call does nothing.
    void release(item_outcome outcome = item_outcome::ok);
    /// Records how long a navigation on this page took (the pool's navigation histogram).
    void observe_navigation(std::chrono::nanoseconds took) const;

  private:
    friend class browser_pool;
    browser_pool* pool_ = nullptr;
    std::size_t slot_ = 0;
    std::uint64_t generation_ = 0; // the slot's lease count when this lease was made
    std::uint64_t browser_id_ = 0;
    std::shared_ptr<cdp::page> page_;
};

class browser_pool {
  public:
    /// Launches the browsers (in parallel) and logs the shm decision. Blocking. Throws
    /// cdp::error when no browser can be launched at all, std::invalid_argument on bad options.
    explicit browser_pool(pool_options options);
    /// stop().
    ~browser_pool();
    browser_pool(const browser_pool&) = delete;
    browser_pool& operator=(const browser_pool&) = delete;

    /// A page lease for `profile`, first come first served, within `timeout` (the whole of it:
    /// waiting for a slot, a browser, a context and the page). Pages and contexts are never
    /// shared between profiles. A lease dropped unreleased (also one that was never taken from
    /// the completion) gives its slot back. Throws pool::error (acquire_timeout, unhealthy,
    /// stopped) or cdp::error.
    boost::asio::awaitable<page_lease> acquire(cdp::page_profile profile, milliseconds timeout);
    /// No profile: any host but the always-refused ones (local schemes, link-local, metadata),
    /// private addresses included (tests, tools, a shop on this machine).
    boost::asio::awaitable<page_lease> acquire(milliseconds timeout) {
        return acquire(open_profile(), timeout);
    }
    /// The same for plain threads. Must not be called on the pool's own thread.
    page_lease acquire_blocking(cdp::page_profile profile, milliseconds timeout);
    page_lease acquire_blocking(milliseconds timeout) {
        return acquire_blocking(open_profile(), timeout);
    }
    /// The profile of acquire(timeout): nothing set, private addresses allowed.
    static cdp::page_profile open_profile() {
        cdp::page_profile p;
        p.allow_private_addresses = true;
        return p;
    }

    /// The snapshot the pool thread published last, with fresh histograms and sampler health.
    /// Never waits for the pool thread; from any thread, also after stop().
    pool_stats stats() const;
    const shm_decision& shm() const noexcept { return shm_; }
    std::size_t concurrency() const noexcept { return options_.concurrency; }
    const std::vector<std::string>& flags() const noexcept { return flags_; }
    /// The CDP clients of the live browsers (diagnostics and tests). Any thread.
    std::vector<std::shared_ptr<cdp::client>> clients() const;
    /// Main process ids of the live browsers. Any thread.
    std::vector<pid_t> browser_pids() const;

    /// Stops leasing (waiting acquires fail with stopped), lets leases out end until `grace`
    /// is nearly spent, then closes every browser, all within `grace` plus the time a launch
    /// already under way needs to finish. Thread-safe and idempotent: a second caller waits
    /// for the first to finish.
    void drain(milliseconds grace = milliseconds(20000));
    /// drain(0): closes the browsers now; leases still out fail with browser_closed.
    void stop() { drain(milliseconds(0)); }

    /// True for failures that say nothing about the item: its browser or page went away. The
    /// caller retries the item on another lease and does not count it as a scrape failure.
    static bool is_retryable(const std::exception& e);

    struct core;

  private:
    void release(std::size_t slot, std::uint64_t generation, item_outcome outcome);
    static page_lease make_lease(browser_pool* pool, std::size_t slot, std::uint64_t generation,
                                 std::uint64_t browser_id, std::shared_ptr<cdp::page> page);
    friend class page_lease;

    pool_options options_;
    shm_decision shm_;
    std::vector<std::string> flags_;
    std::shared_ptr<core> core_;
};

} // namespace rotor::pool

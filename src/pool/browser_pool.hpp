#pragma once
// A pool of Chromium processes that hands out page leases and keeps memory flat: pages rotate
// every N items, contexts every M, browsers are recycled on an item count or a PSS budget, a dead
// browser is relaunched with backoff, and a page that will not close is forced out.
//
// Threading: pool state lives on the pool's own I/O thread; acquire() may be awaited from any
// executor, acquire_blocking() called from any plain thread, and a lease released from anywhere.
// The pool must outlive its leases.

#include "cdp/browser.hpp"
#include "pool/errors.hpp"
#include "pool/launch_flags.hpp"
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

    /// Returns the page to the pool. Thread-safe; the second call does nothing.
    void release(item_outcome outcome = item_outcome::ok);

  private:
    friend class browser_pool;
    browser_pool* pool_ = nullptr;
    std::size_t slot_ = 0;
    std::uint64_t browser_id_ = 0;
    std::shared_ptr<cdp::page> page_;
};

struct browser_stats {
    std::uint64_t id = 0;
    pid_t pid = 0;
    std::string state;     // launching, ready, retiring, draining, dead
    std::size_t items = 0; // items served by this process
    std::size_t active_leases = 0;
    std::size_t pages_created = 0;
    std::size_t contexts_created = 0;
    std::size_t page_rotations = 0;
    std::size_t context_rotations = 0;
    std::size_t processes = 0; // processes in its tree at the last sample
    double pss_mb = 0;         // PSS of its tree at the last sample
};

struct pool_stats {
    std::vector<browser_stats> browsers;
    std::size_t items = 0;
    std::size_t page_rotations = 0;
    std::size_t context_rotations = 0;
    std::size_t recycles_by_count = 0;
    std::size_t recycles_by_memory = 0;
    std::size_t recycles_by_hang = 0; // a page would not open or close in time
    std::size_t restarts = 0;         // relaunches after a browser died
    std::size_t launch_failures = 0;
    std::size_t forced_closes = 0;            // pages that missed their close deadline
    std::size_t page_memory_replacements = 0; // pages replaced for holding > page_memory_mb
    std::size_t page_memory_unanswered = 0;   // of those, checks that got no answer in time
    std::size_t leases_active = 0;
    std::size_t waiters = 0;
    double pss_mb = 0; // all browsers
    bool healthy = true;
    std::string unhealthy_reason;
    std::string shm;                // the shm decision, one line
    std::vector<std::string> flags; // the launch flags in force
};

class browser_pool {
  public:
    /// Launches the browsers (in parallel) and logs the shm decision. Blocking. Throws
    /// cdp::error when no browser can be launched at all.
    explicit browser_pool(pool_options options);
    /// stop().
    ~browser_pool();
    browser_pool(const browser_pool&) = delete;
    browser_pool& operator=(const browser_pool&) = delete;

    /// A page lease, first come first served, with a fresh page when rotation asked for one.
    /// Throws pool::error (acquire_timeout, unhealthy, stopped) or cdp::error.
    boost::asio::awaitable<page_lease> acquire(milliseconds timeout);
    /// The same for plain threads. Must not be called on the pool's own thread.
    page_lease acquire_blocking(milliseconds timeout);

    /// A snapshot. Blocking; from any thread but the pool's.
    pool_stats stats();
    const shm_decision& shm() const noexcept { return shm_; }
    std::size_t concurrency() const noexcept { return options_.concurrency; }
    const std::vector<std::string>& flags() const noexcept { return flags_; }
    /// The CDP clients of the live browsers (diagnostics and tests).
    std::vector<std::shared_ptr<cdp::client>> clients();
    /// Main process ids of the live browsers.
    std::vector<pid_t> browser_pids();

    /// Closes every browser and fails waiting acquires with errc::stopped. Idempotent.
    void stop();

    /// True for failures that say nothing about the item: its browser or page went away. The
    /// caller retries the item on another lease and does not count it as a scrape failure.
    static bool is_retryable(const std::exception& e);

    struct state;

  private:
    void release(std::size_t slot, item_outcome outcome);
    friend class page_lease;

    pool_options options_;
    shm_decision shm_;
    std::vector<std::string> flags_;
    std::unique_ptr<state> state_;
};

} // namespace rotor::pool

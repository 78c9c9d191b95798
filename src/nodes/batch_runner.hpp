#pragma once
// Runs claimed batch jobs: each item of a job is scanned on a pooled page (or fails with its
// reason), checkpointed after it finishes, and the job completes when every item is done or
// recorded as failed. A job whose lease is lost stops at once (another worker resumes it from the
// checkpoint); a job that cannot run at all (no browser) is failed for a retry with backoff.
//
// This is the worker's job loop; the per-platform workflow DAG from YAML (issue: nodes) plugs its
// nodes in where `scan_options` is today.

#include "pool/browser_pool.hpp"
#include "queue/job_queue.hpp"
#include "queue/rate_limiter.hpp"

#include <boost/asio/thread_pool.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rotor::nodes {

using std::chrono::milliseconds;

/// How one item is scanned in the browser.
struct scan_options {
    std::string url_template = "{base}/product/{id}"; // {base} and {id} are replaced
    std::string base_url;
    std::string ready_expression = // truthy once the page shows the data
        "document.querySelector('#price') && document.querySelector('#price').dataset.value";
    std::string extract_expression = // evaluates to the item's JSON
        "({name: document.querySelector('.product-name').textContent,"
        " price: Number(document.querySelector('#price').dataset.value),"
        " stock: document.querySelector('.stock').dataset.stock})";
    milliseconds navigate_timeout{30000};
    milliseconds ready_timeout{10000};
    int retries = 3;            // retryable failures (browser or page died) before giving up
    double rate_per_second = 0; // platform-wide request rate (0: none)
    int rate_burst = 1;         // requests that may go back to back before the rate holds
};

struct runner_options {
    std::string platform;
    std::string worker_id;
    std::string node_id = "scan";
    scan_options scan;
    milliseconds idle_wait{1000}; // sleep when no job is ready
    bool drain = false;           // return when the queue is empty
    std::chrono::seconds results_ttl{7 * 24 * 3600};
};

struct runner_stats {
    std::uint64_t jobs_completed = 0;
    std::uint64_t jobs_failed = 0;
    std::uint64_t jobs_abandoned = 0; // lease lost mid-job
    std::uint64_t jobs_released = 0;  // given back at a graceful stop, checkpoint kept
    std::uint64_t items_ok = 0;
    std::uint64_t items_failed = 0;
    std::uint64_t items_retried = 0;
    std::uint64_t items_skipped = 0; // already done per the checkpoint (resume)
};

class batch_runner {
  public:
    batch_runner(pool::browser_pool& pool, queue::redis_options redis,
                 queue::queue_options queue_options, runner_options options);

    /// Claims and runs jobs until stop() (or, with drain, until none is ready).
    void run();
    /// Runs one job if one is ready; false when none was.
    bool run_one();
    /// Asks run() to return: items in flight finish, the job is released back to its queue with
    /// its checkpoint (thread-safe).
    void stop() noexcept { stopping_ = true; }
    runner_stats stats() const;

  private:
    struct item_result {
        bool ok = false;
        nlohmann::json value;
        std::string error;
        int retries = 0;
    };
    /// Runs the job's items; true when it is ready to complete (every item done or recorded).
    bool run_job(const queue::job_lease& job);
    /// Completes `job` (and claims the next one in the same round trip when asked).
    std::optional<queue::job_lease> finish(const queue::job_lease& job, bool claim_next);
    /// The i-th of the runner's own Redis connections (kept across jobs).
    queue::job_queue& connection(std::size_t i);
    /// The worker's heartbeat: its counts, the job it runs ("" between jobs), the pool's health.
    nlohmann::json heartbeat_status(const std::string& job_id);
    item_result scan(const std::string& item);

    pool::browser_pool& pool_;
    queue::redis_options redis_;
    queue::queue_options queue_options_;
    runner_options options_;
    queue::job_queue queue_;
    std::mutex connections_mutex_;
    std::vector<std::unique_ptr<queue::job_queue>> connections_;
    std::optional<queue::rate_limiter> limiter_;
    boost::asio::thread_pool io_{1}; // runs the page coroutines of scans
    std::atomic<bool> stopping_{false};
    mutable std::mutex stats_mutex_;
    runner_stats stats_;
};

} // namespace rotor::nodes

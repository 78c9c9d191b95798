#pragma once
// The worker's job loop for one platform: claim a job (complete_and_claim when busy), renew its
// lease in the background, run its pending items through the platform's workflow (the item
// executor), then complete it; a stop releases the job (front of its queue, checkpoint kept, no
// stall); a lost lease stops it at once; a job that cannot run (no browser) fails for a retry.
// Between jobs: heartbeats and reaping stalled jobs.

#include "nodes/item_executor.hpp"
#include "nodes/platform_config.hpp"
#include "nodes/workflow.hpp"
#include "pool/browser_pool.hpp"
#include "queue/job_queue.hpp"
#include "queue/rate_limiter.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rotor::nodes {

struct loop_options {
    std::string worker_id;
    milliseconds idle_wait{1000}; // sleep when no job is ready
    bool drain = false;           // return when the queue is empty
    std::size_t max_jobs = 0;     // return after this many jobs completed or failed (0: no limit)
};

struct loop_stats {
    std::uint64_t jobs_claimed = 0;
    std::uint64_t jobs_completed = 0;
    std::uint64_t jobs_failed = 0; // of them: retried later, or dead-lettered
    std::uint64_t jobs_dead = 0;
    std::uint64_t jobs_abandoned = 0; // lease lost mid-job
    std::uint64_t jobs_released = 0;  // given back at a graceful stop
    std::uint64_t items_ok = 0;
    std::uint64_t items_gone = 0;
    std::uint64_t items_failed = 0;
    std::uint64_t items_retried = 0;
    std::uint64_t items_poisoned = 0;
    std::uint64_t items_cached = 0;
    std::uint64_t items_skipped = 0; // already done per the checkpoint (resume)
};

class job_loop {
  public:
    /// `pool` may be null for a platform without browser nodes. Throws for a workflow that
    /// cannot be built (a sink that cannot open).
    job_loop(const platform_config& config, pool::browser_pool* pool, queue::redis_options redis,
             queue::queue_options queue_options, loop_options options);
    ~job_loop();

    /// Claims and runs jobs until stop() (or, with drain, until none is ready).
    void run();
    /// Runs one job if one is ready; false when none was.
    bool run_one();
    /// Items in flight finish, the job is released with its checkpoint (thread-safe).
    void stop() noexcept { stopping_ = true; }
    loop_stats stats() const;
    /// For a worker out of time at a stop (thread-safe): gives the running job back now on a
    /// connection of its own, each Redis call bounded by `budget`, whatever its items in flight
    /// are doing (their outcome writes are refused from then on: the lease is gone). Items not
    /// yet recorded are redone by the next worker. False when no job ran or Redis refused.
    bool release_now(milliseconds budget) noexcept;

    /// What the heartbeat endpoint reports (thread-safe, no I/O).
    struct health {
        std::string job;                // the job running now ("" when idle)
        milliseconds since_progress{0}; // since the job started or an item last ended
        bool redis_ok = true;           // the loop's last Redis call went through
    };
    health health_now() const;
    /// The platform's queue as last read (at idle polls, and with each lease renewal), and
    /// when (steady ms; 0: never).
    struct depth {
        queue::platform_counts counts;
        std::int64_t at_ms = 0;
    };
    depth queue_depth() const;
    /// Reconnections of every Redis connection the loop holds (thread-safe).
    std::uint64_t redis_reconnects() const noexcept;
    const executor_stats& item_stats() const noexcept { return executor_->stats(); }
    nlohmann::json heartbeat_status(const std::string& job_id) const;

  private:
    bool run_job(const queue::job_lease& job);
    bool run_claimed(const queue::job_lease& job); // run_job without the give-back on a throw
    /// release() with the job's checkpoint kept; a failure is logged (the lease then expires).
    void give_back(const queue::job_lease& job);
    std::optional<queue::job_lease> finish(const queue::job_lease& job, bool claim_next);
    /// Jobs completed or failed so far (what --max-jobs counts; given-back jobs do not count).
    std::size_t jobs_ended() const;
    bool reached_max_jobs() const;
    bool one_before_max_jobs() const;

    const platform_config& config_;
    pool::browser_pool* pool_;
    queue::redis_options redis_;
    queue::queue_options queue_options_;
    loop_options options_;
    queue::job_queue queue_;
    std::unique_ptr<queue::job_queue> renew_queue_;
    std::vector<std::unique_ptr<queue::job_queue>> outcome_queues_;
    std::optional<queue::rate_limiter> limiter_;
    boost::asio::thread_pool blocking_;
    std::unique_ptr<workflow> flow_;
    std::unique_ptr<item_executor> executor_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> redis_ok_{true};
    std::atomic<std::int64_t> job_started_ms_{0}; // steady clock
    mutable std::mutex job_mutex_;
    std::string current_job_;
    std::optional<queue::job_lease>
        current_lease_;             // the last claimed: what release_now() gives back
    milliseconds fault_backoff_{0}; // after a job given back for this worker's fault
    mutable std::mutex stats_mutex_;
    loop_stats stats_;
    mutable std::mutex depth_mutex_;
    depth depth_;
    /// Reads the platform's queue depth on `q` (a failure keeps the last reading).
    void read_depth(queue::job_queue& q) noexcept;
    void count_claim(const std::optional<queue::job_lease>& job);
};

} // namespace rotor::nodes

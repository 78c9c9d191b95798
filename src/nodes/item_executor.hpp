#pragma once
// Runs a job's items through a workflow as coroutines on a few threads (not a thread per item):
// `concurrency` lanes each take the next pending item, run it through every node (with the
// retry policy), save it, and record its outcome in Redis in one fenced step (result or failure,
// and the checkpoint). A failed item is recorded and skipped, never stops the batch. An item
// that crashes the renderer or kills the browser `poison_after` times is quarantined.

#include "nodes/platform_config.hpp"
#include "nodes/workflow.hpp"
#include "queue/job_queue.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace rotor::nodes {

/// Upper bounds (seconds) of the item latency histogram's buckets; one more counts the rest.
inline constexpr std::array<double, 11> item_latency_bounds = {0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                                               5,    10,  30,   60,  120};

struct executor_stats {
    // Items recorded, by how long they took from their start to their record (retries
    // included): cumulative counts per bucket are the metric's, built when it is read.
    std::array<std::atomic<std::uint64_t>, item_latency_bounds.size() + 1> latency_buckets{};
    std::atomic<std::uint64_t> latency_count{0};
    std::atomic<std::uint64_t> latency_sum_us{0};
    std::atomic<std::uint64_t> items_ok{0};
    std::atomic<std::uint64_t> items_gone{0};
    std::atomic<std::uint64_t> items_failed{0};
    std::atomic<std::uint64_t> items_retried{0}; // attempts after the first
    std::atomic<std::uint64_t> items_poisoned{0};
    std::atomic<std::uint64_t> items_cached{0}; // answered from the freshness cache
    std::atomic<std::int64_t> last_item_ms{0};  // steady ms: an item ended or waited legitimately
    std::atomic<std::uint64_t> job_items_total{0}; // of the job running now (or the last one)
    std::atomic<std::uint64_t> job_items_done{0}; // of them recorded (checkpointed before included)
};

struct job_run {
    std::size_t ended = 0; // items recorded (done or failed) in this run
    bool lease_lost = false;
    std::string job_error;    // the job's fault: Redis refuses its outcome, fail_job policy
    std::string worker_fault; // this worker's fault: its pool cannot serve, a sink is down
    bool dead_letter = false; // job_error is final (on_item_failure: fail_job): no retry
};

/// Blocked outcomes (429, a block page) retry after their cooldown up to this many times, on
/// top of `retries` (which counts timeouts, crashes and 5xx).
inline constexpr int max_blocked_retries = 10;

class item_executor {
  public:
    /// `queues`: connections for outcome writes (shared by the lanes, at least one).
    item_executor(const platform_config& config, workflow& flow,
                  std::vector<queue::job_queue*> queues, boost::asio::thread_pool& blocking,
                  std::size_t threads = 2);
    ~item_executor();
    item_executor(const item_executor&) = delete;
    item_executor& operator=(const item_executor&) = delete;

    /// Runs `pending` items of `job` (indices into its items). Returns when every lane ended:
    /// all items recorded, or the lease lost, or `stopping` set (items in flight finish), or a
    /// job error. Blocking; one job at a time.
    job_run run(const queue::job_lease& job, const std::vector<std::size_t>& pending,
                const std::atomic<bool>& stopping, std::atomic<bool>& lease_lost);

    const executor_stats& stats() const noexcept { return stats_; }

  private:
    struct job_state;
    boost::asio::awaitable<void> lane(job_state& s, std::size_t lane_no);
    boost::asio::awaitable<item_outcome> process(job_state& s, item_context& item);
    /// Fills the item from its freshness entry; false when the entry is unreadable, too old, or
    /// was written for another request or field spec (then the item is fetched).
    bool answer_from_cache(const std::string& entry, item_context& item) const;
    /// An item recorded: its latency into the histogram, its log line, the job's progress line.
    void observe(job_state& s, const item_context& item, const item_outcome& outcome,
                 std::chrono::steady_clock::duration took, std::size_t ended);
    /// Records the final outcome (fenced); false when the lane must stop.
    bool record(job_state& s, queue::job_queue& q, const item_context& item,
                const item_outcome& outcome);

    const platform_config& config_;
    workflow& flow_;
    std::vector<queue::job_queue*> queues_;
    boost::asio::thread_pool& blocking_;
    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::atomic<std::size_t> threads_done_{0};
    std::vector<std::thread> threads_;
    executor_stats stats_;
};

} // namespace rotor::nodes

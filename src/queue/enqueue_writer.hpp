#pragma once
// Streams items into batch jobs: ids (or ids with values) are added one at a time, grouped into
// jobs of batch_size and written in bounded chunks (one script each), so enqueueing a million
// ids needs neither a million-argument EVAL nor the whole list in memory at once.
//
// With an idempotency key a failed or repeated enqueue can simply be run again: every chunk has
// a record under the key, and a chunk written before is recognised (its digest must match) and
// skipped, so nothing is added twice. Without one, a retry adds the items again.

#include "queue/job_queue.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace rotor::queue {

struct enqueue_item {
    std::string id;
    nlohmann::json data; // the item's other values (an object), or null
};

struct enqueue_limits {
    std::size_t chunk_items = 10000;   // ids per script at most (a job is never split)
    std::size_t chunk_jobs = 1000;     // jobs per script at most (~10 ms of Redis's time)
    std::size_t chunk_bytes = 4 << 20; // params bytes per script at most
};

struct enqueue_summary {
    std::string group_id;
    std::string idempotency_key; // empty: none
    std::size_t items = 0;
    std::size_t jobs = 0;
    std::size_t chunks = 0;          // scripts run
    std::size_t replayed_chunks = 0; // of them, written by an earlier run with the same key
    std::vector<std::string> job_ids;
};

class enqueue_writer {
  public:
    /// Binds the idempotency key (if any) to its group: a round trip to Redis. Throws
    /// errc::invalid_argument (empty platform, bad key), errc::idempotency_mismatch (the key
    /// belongs to another platform or group).
    enqueue_writer(job_queue& queue, enqueue_target target, enqueue_limits limits = {});
    enqueue_writer(const enqueue_writer&) = delete;
    enqueue_writer& operator=(const enqueue_writer&) = delete;

    /// The number of items that will be added: jobs then carry batch_total, and finish() checks
    /// the count. Call before the first add().
    void expect(std::size_t items);
    /// Adds one item (its id is trimmed). Throws errc::invalid_argument for a bad id or data,
    /// with nothing written for it (the writer stays usable); a full chunk may be written here,
    /// and an error then (Redis, a refused chunk) leaves the writer failed: every later call
    /// throws, and the message says what was written and how to finish.
    void add(enqueue_item item);
    /// Writes what is left and closes the enqueue (the group's 'enqueuing' flag goes).
    enqueue_summary finish();

    const std::string& group_id() const noexcept { return summary_.group_id; }
    const enqueue_summary& summary() const noexcept { return summary_; }

  private:
    void close_job();
    void write_chunk(bool last);
    void check_usable(const char* what) const;
    [[noreturn]] void fail_with(const error& e);

    job_queue& queue_;
    enqueue_target target_;
    enqueue_limits limits_;
    std::optional<std::size_t> expected_;
    std::vector<enqueue_item> job_items_; // the job being filled
    bool job_has_data_ = false;
    std::vector<std::string> chunk_params_;  // whole jobs not written yet
    std::vector<std::string> chunk_digests_; // of their items, one per job
    std::size_t chunk_items_ = 0;            // ids in chunk_params_
    std::size_t chunk_bytes_ = 0;
    std::string min_score_ = "0";
    bool finished_ = false;
    bool failed_ = false; // a write or check failed: nothing more is taken
    std::string failure_;
    enqueue_summary summary_;
};

/// Why `key` cannot be an idempotency key, or nullopt.
std::optional<std::string> idempotency_key_problem(const std::string& key);

} // namespace rotor::queue

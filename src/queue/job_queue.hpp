#pragma once
// Batch jobs on Redis: per-platform priority queues, leases with fencing tokens, per-item
// checkpoints, failure lists, retries with backoff, dead letters and batch-group progress.
// Every multi-key change is one Lua script (see detail/lua_scripts.cpp).
//
// Thread-safety: a job_queue serializes its calls on one connection; give each worker thread its
// own job_queue for parallelism.

#include "queue/checkpoint.hpp"
#include "queue/errors.hpp"
#include "queue/keys.hpp"
#include "queue/redis_connection.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rotor::queue {

enum class priority { high = 0, normal = 1, low = 2 };

enum class lock_mode {
    job,      // a lease per job: many workers serve one platform at once (default)
    platform, // the old one-worker-per-platform lock (workflow:lock:platform:{p})
};

struct queue_options {
    std::string prefix = "workflow:"; // key prefix (keep the user's names)
    milliseconds lease{60000};        // a claim is the worker's until renewed or expired
    std::size_t batch_size = 50;      // items per job when enqueuing a list
    int max_attempts = 3;             // whole-job failures before dead-letter
    int max_stalled = 2;              // lease expiries (worker died) before dead-letter
    milliseconds retry_backoff{1000}; // first retry delay; doubles, with jitter
    milliseconds retry_backoff_max{300000};
    std::chrono::seconds failures_ttl{7 * 24 * 3600}; // failures list and checkpoint TTL
    std::chrono::seconds results_ttl{7 * 24 * 3600};  // results:{job}, refreshed per item
    // No renewal, heartbeat or reap of any worker for max(2/3 of a lease, this) means an outage:
    // reaping is held for one lease so live workers renew first. Must stay well above the idle
    // workers' poll (1 s) and the busy ones' renewal (lease/3), or the hold re-arms every time.
    milliseconds outage_gap{10000};
    // How long a done job's hash and a batch group's hash are kept (then they expire).
    std::chrono::seconds retention{7 * 24 * 3600};
    // How long a dead job's hash is kept (then it expires; requeue keeps it); the dead set drops
    // entries older than this as jobs die. rotorctl dead clean removes them sooner.
    std::chrono::seconds dead_retention{30 * 24 * 3600};
    // How long an enqueue's idempotency key (with its chunks' records) is remembered after its
    // last use: a retry within it adds nothing twice.
    std::chrono::seconds idempotency_window{7 * 24 * 3600};
    // false: a done job's hash is deleted when it completes (BullMQ's removeOnComplete); its
    // group's counts, its failures list and checkpoints stay. Saves Redis memory and CPU.
    bool keep_done_jobs = true;
    // A busy worker (complete_and_claim) moves due retries from the delayed set into the queue at
    // most this often; claim() always does. Retries are due at most this much late.
    milliseconds delayed_poll{250};
    lock_mode lock = lock_mode::job;
    // A worker not heard of (heartbeat) for this long leaves the registry (workflow:workers).
    milliseconds worker_ttl{10 * 60 * 1000};
};

/// Where an enqueue's jobs go (enqueue_request adds the items; enqueue_writer streams them).
struct enqueue_target {
    std::string platform;
    std::string workflow_id;
    priority prio = priority::normal;
    std::string group_id;                                   // empty: generated
    nlohmann::json extra_params = nlohmann::json::object(); // merged into every job's params
    // Non-empty: a retried enqueue with the same key (within idempotency_window) adds nothing
    // twice: the chunks written before are recognised and skipped. 1-200 of [A-Za-z0-9._:-].
    std::string idempotency_key;
};

struct enqueue_request : enqueue_target {
    std::vector<std::string> items; // product ids (trimmed; see item_id.hpp for the rules)
};

/// One bounded step of an enqueue (enqueue_writer makes them): `params` are the jobs' params
/// texts, written atomically as jobs {group}-{n}.
struct enqueue_chunk {
    const enqueue_target* target = nullptr;
    std::string group_id;
    std::size_t index = 0; // the chunk's number in its enqueue
    std::string digest;    // of its items: a replay with other items is refused
    bool last = true;      // false: more chunks of this enqueue follow (group 'enqueuing')
    std::string min_score = "0";
    std::vector<std::string> params;
};

struct enqueue_chunk_result {
    bool replayed = false; // written before (same record and digest): nothing was added
    std::vector<std::string> job_ids;
    std::string next_min_score; // the next chunk's min_score
};

struct enqueue_result {
    std::string group_id;
    std::vector<std::string> job_ids;
};

/// A claimed job. `token` fences every write: once the lease is lost, writes fail.
struct job_lease {
    std::string id;
    std::string platform;
    std::string workflow_id;
    std::string group_id;
    nlohmann::json params;
    std::string token;
    int attempts = 0;
    int max_attempts = 0;
    std::int64_t lease_deadline_ms = 0;
    std::string worker_id;

    /// params.product_ids (strings or numbers) as strings; [] when absent.
    std::vector<std::string> items() const;
    /// The values item `index` was enqueued with besides its id (an object), or nullptr.
    const nlohmann::json* item_data(std::size_t index) const;
};

/// An item's freshness entry, written with its result (a platform's cache_ttl).
struct cache_entry {
    std::string item;
    std::chrono::seconds ttl{0};
    std::string value; // what a later run answers the item with (JSON)
};

struct failure_record {
    std::size_t index = 0;
    std::string item;
    std::string error;
    std::int64_t timestamp_ms = 0;
};

struct group_progress {
    std::int64_t total = 0;
    std::int64_t completed = 0;
    std::int64_t failed = 0;
    double progress = 0;    // percent of jobs finished (completed or failed)
    std::int64_t first = 0; // the group's jobs are {group}-{first} .. {group}-{first + total - 1}
    bool enqueuing = false; // an enqueue into it has not finished: total may still grow
};

struct retry_decision {
    bool dead = false;       // no attempts left: dead-lettered
    milliseconds backoff{0}; // otherwise: back in the queue after this
};

/// A worker of the registry: its last heartbeat's status and when it came (Redis time, ms).
struct worker_entry {
    std::string id;
    nlohmann::json status;
    std::int64_t last_seen_ms = 0;
};

struct platform_counts {
    std::int64_t queued = 0, running = 0, delayed = 0, dead = 0;
};

class job_queue {
  public:
    job_queue(redis_options redis, queue_options options = {});

    /// Splits the items into jobs of batch_size under one batch group, in chunks of at most
    /// enqueue_limits (atomically when they fit in one). Throws errc::invalid_argument for a bad
    /// id (item_id.hpp) before anything is written, errc::idempotency_mismatch when the request's
    /// idempotency key was used for other items.
    enqueue_result enqueue(const enqueue_request& request);
    /// enqueue_writer's steps: the group `target.idempotency_key` enqueues into (bound at its
    /// first use with the target's platform, group (a new one when empty), workflow and
    /// priority; errc::idempotency_mismatch when a later use differs), and one chunk.
    std::string bind_enqueue_key(const enqueue_target& target);
    enqueue_chunk_result write_enqueue_chunk(const enqueue_chunk& chunk);
    /// A new batch group id: {platform}-{random}.
    static std::string new_group_id(const std::string& platform);
    /// The best ready job of `platform` (priority, then age), leased to `worker_id`; nullopt when
    /// none is ready. Malformed jobs met on the way are dead-lettered with the reason.
    std::optional<job_lease> claim(const std::string& platform, const std::string& worker_id);
    /// Extends the lease. Throws errc::lease_lost when another worker took the job over.
    void renew(job_lease& job);
    /// Marks item `index` of node `node_id` done; returns the new processed_index. Fenced.
    std::size_t checkpoint(const job_lease& job, const std::string& node_id, std::size_t index,
                           std::size_t total);
    /// Stores item `index`'s result (results:{job}, kept results_ttl) and checkpoints it, in one
    /// fenced step: after the lease is lost nothing is written. An item already counted is not
    /// stored again. Returns the new processed_index. Throws errc::lease_lost.
    /// With `cache`, the item's freshness entry is set in the same step (only when stored).
    std::size_t store_result(const job_lease& job, const std::string& node_id, std::size_t index,
                             std::size_t total, const nlohmann::json& result,
                             const cache_entry* cache = nullptr);
    /// The freshness entries of `items` of `platform` (nullopt: none, or expired), in order; one
    /// round trip per 500 items.
    std::vector<std::optional<std::string>> read_cache(const std::string& platform,
                                                       const std::vector<std::string>& items);
    /// Records an item failure (it counts as processed), the same way.
    std::size_t record_failure(const job_lease& job, const std::string& node_id, std::size_t index,
                               std::size_t total, const std::string& item,
                               const std::string& error);
    checkpoint_state load_checkpoint(const std::string& job_id, const std::string& node_id);
    /// A graceful stop: the job goes back to the front of its queue at once, checkpoint kept, no
    /// stall counted. True when released now, false when this lease had released it already.
    /// Throws errc::lease_lost.
    bool release(const job_lease& job);
    /// Finishes the job. Idempotent for the lease holder; fenced.
    void complete(const job_lease& job);
    /// complete() and claim() of the same platform in one round trip (a busy worker's loop).
    std::optional<job_lease> complete_and_claim(const job_lease& job);
    /// A whole-job failure: retry after backoff with jitter, or dead-letter after max_attempts.
    retry_decision fail(const job_lease& job, const std::string& error);
    /// Dead-letters the job at once, whatever its attempts (a malformed job: no retry can help),
    /// with `reason` as its last_error. Fenced: throws errc::lease_lost when the lease is gone.
    void dead_letter(const job_lease& job, const std::string& reason);
    /// Moves jobs whose lease expired back to their queue (or to dead-letter after max_stalled).
    /// Any worker may call it; returns {requeued, dead}.
    std::pair<std::int64_t, std::int64_t> reap_stalled(const std::string& platform);

    // list() and requeue() are job_admin's (queue/job_admin.hpp).

    std::vector<failure_record> failures(const std::string& job_id);
    std::int64_t failures_ttl_seconds(const std::string& job_id);
    group_progress progress(const std::string& group_id);
    std::map<std::string, std::string> job_fields(const std::string& job_id);
    platform_counts counts(const std::string& platform);
    /// Records the worker's heartbeat in workflow:workers (its status JSON) and when it came;
    /// workers not heard of for `worker_ttl` are dropped from the registry on the way.
    void heartbeat(const std::string& worker_id, const nlohmann::json& status);
    /// The registry, most recently seen first.
    std::vector<worker_entry> workers();
    /// Takes a worker out of the registry (it is shutting down).
    void forget_worker(const std::string& worker_id);

    const keys& key_names() const noexcept { return keys_; }
    /// Times the connection was re-established after a failure (Redis down, a timeout).
    std::uint64_t reconnects() const noexcept { return conn_.reconnects(); }
    const queue_options& options() const noexcept { return options_; }
    /// Direct access for tools and tests (one command at a time).
    redis_reply command(const std::vector<std::string>& argv);

  private:
    redis_reply run(lua_script& script, const std::vector<std::string>& k,
                    const std::vector<std::string>& args, const std::string& what,
                    std::optional<std::size_t> replay_flag = std::nullopt);

    queue_options options_;
    keys keys_;
    std::mutex mutex_;
    std::atomic<std::int64_t> last_promote_ns_{0}; // steady clock, for delayed_poll
    redis_connection conn_;
    lua_script enqueue_, bind_enqueue_, claim_, renew_, checkpoint_, store_outcome_, complete_,
        complete_claim_, fail_job_, reap_, heartbeat_, dead_letter_, release_, counts_;
    std::size_t store_outcome(const job_lease& job, const std::string& node_id, std::size_t index,
                              std::size_t total, const char* kind, const std::string& payload,
                              const std::string& what, const cache_entry* cache = nullptr);
    std::string pulse_gap_ms() const;
    std::string done_ttl() const; // seconds a done job's hash is kept; "0": deleted
    std::string dead_ttl() const; // seconds a dead job's hash is kept
    /// The lease a claim answered (nullopt: none); `malformed` says why it cannot be run ("": it
    /// can). Throws only when the reply itself is not a claim's.
    std::optional<job_lease> parse_claim(const redis_reply& reply, const std::string& worker_id,
                                         std::string& malformed);
};

std::string_view to_string(lock_mode mode);

/// How long a batch group's job counter (batch-group-seq) lives after the group's last enqueue
/// or requeue: twice the longest TTL of anything the group's jobs leave behind, so no job id is
/// given twice while the old job's data lives.
std::chrono::seconds group_counter_ttl(const queue_options& options);

} // namespace rotor::queue

#pragma once
// The queue's admin side, for rotorctl and tests: the jobs of a state with their fields, dead
// jobs put back into their queue, old dead jobs cleaned away, per-platform stats. A worker's
// calls (claim, checkpoint, complete, fail...) are job_queue's.
//
// Thread-safety: one connection and no locking: one job_admin per thread.

#include "queue/job_queue.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rotor::queue {

enum class job_state { queued, running, delayed, dead };

/// One job of a platform's queue, running, delayed or dead set.
struct job_summary {
    std::string id;
    job_state state = job_state::queued;
    // running: lease deadline; delayed: when it retries; dead: when it died (ms since the epoch).
    // queued: the queue score (priority tier x 1e13 + enqueue ms).
    std::int64_t at_ms = 0;
    std::map<std::string, std::string> fields; // the job hash (empty if it is gone)
};

struct platform_stats {
    platform_counts counts;
    std::int64_t stalled = 0;        // running jobs whose lease has expired, not reaped yet
    std::int64_t oldest_dead_ms = 0; // when the oldest dead job died (0: none dead)
    std::int64_t now_ms = 0;         // Redis's clock when the stats were read
    std::string paused;              // the pause's record (JSON: at_ms, by, reason); "": not paused
    double cooldown_factor = 1;      // < 1 while a cooldown (429s) slows every worker down
    std::int64_t cooldown_until_ms = 0; // when the cooldown's full slowdown ends (then a ramp)
};

class job_admin {
  public:
    /// Uses options.prefix and, for what it writes, the queue's other settings.
    explicit job_admin(redis_options redis, queue_options options = {});

    /// Up to `limit` jobs of a platform in one state, oldest (or soonest) first.
    std::vector<job_summary> list(const std::string& platform, job_state state,
                                  std::size_t limit = 100);
    /// Puts a dead job back into its queue (original priority and age) with its attempts and
    /// stalls reset; it no longer expires, and its batch group counts it as pending again.
    /// Throws errc::not_found when the job is not dead (or does not exist).
    void requeue(const std::string& job_id);
    /// Deletes the dead jobs of `platform` that died more than `older_than` ago: their hash,
    /// failures list and results, and their place in the dead set (their checkpoints expire by
    /// themselves; their batch group keeps counting them as failed). Returns how many.
    std::int64_t clean_dead(const std::string& platform, std::chrono::seconds older_than);
    /// Platforms that have dead jobs (SCAN over the dead sets).
    std::vector<std::string> platforms_with_dead();
    /// Platforms with anything in Redis: a queue, running, delayed or dead jobs, or a pause.
    std::vector<std::string> platforms_in_use();
    /// No job of the platform is claimed until resume() (jobs running now run on). Idempotent:
    /// a second pause replaces the first's record.
    void pause(const std::string& platform, const std::string& by, const std::string& reason);
    /// Ends a pause; false when the platform was not paused.
    bool resume(const std::string& platform);
    platform_stats stats(const std::string& platform);
    std::map<std::string, std::string> job_fields(const std::string& job_id);

    const keys& key_names() const noexcept { return keys_; }

  private:
    std::vector<std::string> platforms_under(const std::string& head);
    queue_options options_;
    keys keys_;
    redis_connection conn_;
    lua_script requeue_, clean_dead_, stats_;
};

std::string_view to_string(job_state state);
/// "queued", "running", "delayed" or "dead"; nullopt otherwise.
std::optional<job_state> parse_job_state(std::string_view name);
/// An age such as "7d", "12h", "30m", "45s" or "3600" (seconds). Throws errc::invalid_argument
/// naming the text when it is not one.
std::chrono::seconds parse_age(std::string_view text);

} // namespace rotor::queue

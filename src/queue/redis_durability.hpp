#pragma once
// What the Redis under the queue can lose, checked when a worker starts. The queue's guarantees
// (a lease per job, checkpoints, retries, dead letters) hold only for writes Redis keeps:
//   - an eviction policy other than noeviction lets Redis drop keys under memory pressure:
//     checkpoints, job hashes, batch groups (all of them: volatile-* policies take the keys with a
//     TTL, which checkpoints, failures and done jobs have). The check refuses it unless allowed.
//   - persistence (AOF and its fsync policy, RDB snapshots) decides how many acknowledged writes a
//     crash loses: said in one line, so the operator knows what a crash means here.
// A Redis that refuses CONFIG (managed services rename or forbid it) is a warning, not an error.

#include "queue/redis_connection.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rotor::queue {

struct durability_report {
    bool config_readable = false;      // CONFIG GET answered (managed services may refuse it)
    std::string maxmemory_policy;      // "" when unknown
    std::string maxmemory;             // bytes, "0": no limit ("" when unknown)
    bool aof = false;                  // appendonly yes
    std::string appendfsync;           // always, everysec or no ("" when unknown)
    std::string save;                  // RDB save rules ("": no snapshots)
    std::string summary;               // one line: what a crash of Redis can lose
    std::vector<std::string> warnings; // to be logged loudly
};

/// Reads maxmemory-policy, maxmemory, appendonly, appendfsync and save. Throws
/// errc::unsafe_config when the policy can evict keys and `allow_eviction` is false (with it, the
/// report carries a warning instead); errc::redis_unavailable when Redis cannot be reached. A
/// refused CONFIG is a warning. Call from the thread that owns `redis`.
durability_report check_durability(redis_connection& redis, bool allow_eviction);

/// What a crash of Redis loses with these persistence settings, in one line (pure).
std::string describe_persistence(bool aof, std::string_view appendfsync, std::string_view save);

} // namespace rotor::queue

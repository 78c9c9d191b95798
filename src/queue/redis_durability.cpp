#include "queue/redis_durability.hpp"

#include "queue/errors.hpp"

namespace rotor::queue {
namespace {

// CONFIG GET of one parameter (one at a time: Redis before 7 takes one pattern per call).
std::string config_get(redis_connection& redis, const std::string& name) {
    const auto reply = redis.command({"CONFIG", "GET", name});
    return reply.elements.size() == 2 ? reply.elements[1].as_string() : std::string();
}

} // namespace

std::string describe_persistence(bool aof, std::string_view appendfsync, std::string_view save) {
    const std::string snapshots =
        save.empty() ? "" : " (RDB snapshots too: save " + std::string(save) + ")";
    if (aof && appendfsync == "always") {
        return "AOF always: every acknowledged write is on disk before its reply; a crash loses "
               "none" +
               snapshots;
    }
    if (aof && appendfsync == "everysec") {
        return "AOF everysec: up to 1 s of acknowledged writes can be lost on a crash (2 s when "
               "the disk is slow)" +
               snapshots;
    }
    if (aof) {
        return "AOF without fsync (appendfsync " + std::string(appendfsync) +
               "): a crash of the host can lose the acknowledged writes the kernel had not "
               "flushed yet (about 30 s on Linux)" +
               snapshots;
    }
    if (!save.empty()) {
        return "RDB snapshots only (save " + std::string(save) +
               "): a crash loses every write since the last snapshot (jobs enqueued, leases, "
               "checkpoints, completions)";
    }
    return "no persistence (appendonly no, save ''): a restart of Redis loses every job, "
           "checkpoint and batch group";
}

durability_report check_durability(redis_connection& redis, bool allow_eviction) {
    durability_report r;
    try {
        r.maxmemory_policy = config_get(redis, "maxmemory-policy");
        r.maxmemory = config_get(redis, "maxmemory");
        r.aof = config_get(redis, "appendonly") == "yes";
        r.appendfsync = config_get(redis, "appendfsync");
        r.save = config_get(redis, "save");
    } catch (const error& e) {
        // Managed services answer a renamed or forbidden CONFIG with an error (unknown command,
        // NOPERM): theirs to decide, so it is said, not refused.
        if (e.kind() != errc::redis_error) throw;
        r = durability_report{};
        r.summary = "persistence unknown (CONFIG GET refused)";
        r.warnings.push_back(
            "redis refused CONFIG GET (" + std::string(e.what()) +
            "): cannot check that maxmemory-policy is noeviction (any other policy can evict "
            "checkpoints and job hashes) nor what a crash loses; ask your provider");
        return r;
    }
    r.config_readable = true;
    r.summary = describe_persistence(r.aof, r.appendfsync, r.save);
    const std::string what_goes =
        "under memory pressure Redis evicts keys, and the queue's checkpoints, job hashes and "
        "batch groups are keys (volatile-* policies take exactly the ones with a TTL: "
        "checkpoints, failures, results, done and dead jobs, batch groups and the enqueue "
        "idempotency records, whose loss lets a retried enqueue add its items twice)";
    if (r.maxmemory_policy != "noeviction" && (r.maxmemory == "0" || r.maxmemory.empty())) {
        // No memory limit: nothing is evicted today. Said, not refused.
        r.warnings.push_back("redis maxmemory-policy is '" + r.maxmemory_policy +
                             "' but maxmemory is 0 (no limit), so nothing is evicted now; if a "
                             "limit is ever set, " +
                             what_goes + ": set maxmemory-policy noeviction");
    } else if (r.maxmemory_policy != "noeviction") {
        const std::string why = "redis maxmemory-policy is '" + r.maxmemory_policy +
                                "' (maxmemory " + r.maxmemory + "): " + what_goes +
                                "; set maxmemory-policy noeviction";
        if (!allow_eviction) {
            throw error(errc::unsafe_config, why + ", or allow it explicitly (--allow-eviction)");
        }
        r.warnings.push_back(why + "; allowed by --allow-eviction: items may be scanned twice, "
                                   "groups may lose their counts");
    }
    if (!r.aof && r.save.empty()) r.warnings.push_back(r.summary);
    return r;
}

} // namespace rotor::queue

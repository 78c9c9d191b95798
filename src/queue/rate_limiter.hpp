#pragma once
// A request rate per platform shared by every worker (GCRA in one Lua script, Redis's clock),
// with a cooldown any worker can trigger on 429s (the rate drops for everyone, then ramps back),
// and an optional cluster-wide cap on concurrent requests.

#include "queue/keys.hpp"
#include "queue/redis_connection.hpp"

#include <mutex>
#include <optional>
#include <string>

namespace rotor::queue {

struct rate_limit {
    double per_second = 1.0; // sustained rate for the platform, all workers together
    double burst = 1.0;      // requests allowed back to back after a quiet spell (below 1: 1)
};

class rate_limiter {
  public:
    rate_limiter(redis_options redis, std::string prefix = "workflow:");

    /// 0 when a request may go now (and it is counted), else how long to wait before asking
    /// again. A burst below 1 counts as 1. Throws errc::invalid_argument when the rate is not
    /// positive.
    milliseconds try_acquire(const std::string& platform, const rate_limit& limit);
    /// Blocks until a request may go.
    void acquire(const std::string& platform, const rate_limit& limit);
    /// Multiplies the rate by `factor` (e.g. 0.25) for everyone for `duration`, then lets it rise
    /// linearly back to the full rate over `ramp` (default: `duration`; 0: at once). Cooldowns
    /// triggered by several workers do not undo each other: the harsher factor and the later end
    /// win. Returns the factor now in force.
    double cooldown(const std::string& platform, double factor, milliseconds duration,
                    std::optional<milliseconds> ramp = std::nullopt);
    /// The factor in force now (1 when none; between the factor and 1 while ramping).
    double cooldown_factor(const std::string& platform);

    /// Cluster-wide concurrency cap: true if `holder` got (or renewed) one of `cap` places for
    /// `ttl` (a crashed holder's place frees itself).
    bool try_enter(const std::string& platform, std::size_t cap, const std::string& holder,
                   milliseconds ttl);
    void leave(const std::string& platform, const std::string& holder);

  private:
    keys keys_;
    std::mutex mutex_;
    redis_connection conn_;
    lua_script rate_;
    lua_script cooldown_;
    lua_script read_cooldown_;
    lua_script enter_;
};

} // namespace rotor::queue

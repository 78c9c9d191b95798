#pragma once
// A request rate per platform shared by every worker (GCRA in one Lua script, Redis's clock),
// with a cooldown any worker can trigger on 429s (the rate drops for everyone, then recovers),
// and an optional cluster-wide cap on concurrent requests.

#include "queue/keys.hpp"
#include "queue/redis_connection.hpp"

#include <mutex>
#include <string>

namespace rotor::queue {

struct rate_limit {
    double per_second = 1.0; // sustained rate for the platform, all workers together
    double burst = 1.0;      // requests allowed back to back
};

class rate_limiter {
  public:
    rate_limiter(redis_options redis, std::string prefix = "workflow:");

    /// 0 when a request may go now (and it is counted), else how long to wait before asking again.
    milliseconds try_acquire(const std::string& platform, const rate_limit& limit);
    /// Blocks until a request may go.
    void acquire(const std::string& platform, const rate_limit& limit);
    /// Multiplies the rate by `factor` (e.g. 0.25) for everyone for `duration`.
    void cooldown(const std::string& platform, double factor, milliseconds duration);
    /// Current cooldown factor (1 when none).
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
    lua_script enter_;
};

} // namespace rotor::queue

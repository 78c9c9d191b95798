#pragma once
// How a fetching node (scan_product, api_fetch) treats a platform: before each request a lane
// waits its jitter (rate_limit.wait_time_ms) and then for the platform's rate shared by every
// worker (a GCRA limiter in Redis), or, without a rate, for a cooldown any worker set. When the
// platform pushes back (429/503, a block page), cool_down() slows every worker of the platform.

#include "nodes/item_outcome.hpp"
#include "nodes/platform_config.hpp"
#include "queue/rate_limiter.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace rotor::nodes {

/// What every politeness of this process did (a worker serves one platform): for /metrics.
struct politeness_counters {
    std::atomic<std::uint64_t> rate_waits{0};   // times an item waited for the shared rate
    std::atomic<std::uint64_t> rate_wait_ms{0}; // how long, in all
    std::atomic<std::uint64_t> cooldowns{0};    // cooldowns this process started (429s)
};
politeness_counters& process_politeness_counters();

class politeness {
  public:
    /// `limiter` null: no shared rate and no cooldowns (a probe). `blocking` runs Redis calls.
    politeness(const platform_config& config, queue::rate_limiter* limiter,
               boost::asio::thread_pool& blocking);

    /// Waits the lane's jitter, then for the shared rate or a cooldown. False when the item
    /// should stop waiting (a stop, a lost lease). Redis away is waited out, not the item's
    /// fault.
    boost::asio::awaitable<bool> wait(const item_context& item);

    /// Slows every worker of the platform down (a quarter of the rate for cooldown_s, then a
    /// ramp back; without a rate, a pause of cooldown_s) and returns the item's blocked outcome.
    boost::asio::awaitable<item_outcome> cool_down(const std::string& why);

    std::uint64_t cooldowns() const noexcept { return cooldowns_; }

  private:
    const platform_config& config_;
    queue::rate_limiter* limiter_;
    boost::asio::thread_pool& blocking_;
    std::atomic<std::uint64_t> cooldowns_{0};
    // Without a rate: whether a cooldown holds, as last read from Redis, and when (steady ns).
    std::atomic<bool> cooling_{false};
    std::atomic<std::int64_t> cooldown_checked_at_{0};
};

} // namespace rotor::nodes

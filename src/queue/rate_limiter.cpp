#include "queue/rate_limiter.hpp"

#include "queue/detail/lua_scripts.hpp"
#include "queue/errors.hpp"

#include <cmath>
#include <thread>

namespace rotor::queue {

rate_limiter::rate_limiter(redis_options redis, std::string prefix)
    : keys_(std::move(prefix)),
      conn_(std::move(redis)), rate_{"rate_limit", detail::rate_limit_lua, {}},
      cooldown_{"cooldown", detail::cooldown_lua, {}},
      read_cooldown_{"read_cooldown", detail::read_cooldown_lua, {}}, enter_{"enter",
                                                                             detail::enter_lua,
                                                                             {}} {}

milliseconds rate_limiter::try_acquire(const std::string& platform, const rate_limit& limit) {
    if (!(limit.per_second > 0) || !std::isfinite(limit.per_second)) {
        throw error(errc::invalid_argument, "rate limit of " + platform + " must be positive");
    }
    const double interval_ms = 1000.0 / limit.per_second;
    const double burst = std::isfinite(limit.burst) ? std::max(1.0, limit.burst) : 1.0;
    std::lock_guard lock(mutex_);
    const auto reply = conn_.eval(rate_, {keys_.rate(platform), keys_.cooldown(platform)},
                                  {std::to_string(interval_ms), std::to_string(burst)});
    const double wait = std::stod(reply.as_string());
    return milliseconds(static_cast<std::int64_t>(std::ceil(wait)));
}

void rate_limiter::acquire(const std::string& platform, const rate_limit& limit) {
    for (;;) {
        const auto wait = try_acquire(platform, limit);
        if (wait.count() <= 0) return;
        std::this_thread::sleep_for(wait);
    }
}

double rate_limiter::cooldown(const std::string& platform, double factor, milliseconds duration,
                              std::optional<milliseconds> ramp) {
    if (!(factor > 0) || factor > 1) {
        throw error(errc::invalid_argument, "cooldown of " + platform + ": factor " +
                                                std::to_string(factor) + " is not in (0, 1]");
    }
    const milliseconds r = ramp.value_or(duration);
    if (duration.count() < 0 || r.count() < 0) {
        throw error(errc::invalid_argument,
                    "cooldown of " + platform + ": duration and ramp must not be negative");
    }
    std::lock_guard lock(mutex_);
    const auto reply = conn_.eval(
        cooldown_, {keys_.cooldown(platform)},
        {std::to_string(factor), std::to_string(duration.count()), std::to_string(r.count())});
    return std::stod(reply.as_string());
}

double rate_limiter::cooldown_factor(const std::string& platform) {
    std::lock_guard lock(mutex_);
    return std::stod(conn_.eval(read_cooldown_, {keys_.cooldown(platform)}, {}).as_string());
}

bool rate_limiter::try_enter(const std::string& platform, std::size_t cap,
                             const std::string& holder, milliseconds ttl) {
    std::lock_guard lock(mutex_);
    return conn_
               .eval(enter_, {keys_.concurrency(platform)},
                     {std::to_string(cap), holder, std::to_string(ttl.count())})
               .as_integer() == 1;
}

void rate_limiter::leave(const std::string& platform, const std::string& holder) {
    std::lock_guard lock(mutex_);
    conn_.command({"ZREM", keys_.concurrency(platform), holder});
}

} // namespace rotor::queue

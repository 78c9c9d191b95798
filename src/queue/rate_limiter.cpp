#include "queue/rate_limiter.hpp"

#include "queue/detail/lua_scripts.hpp"
#include "queue/errors.hpp"

#include <cmath>
#include <thread>

namespace rotor::queue {

rate_limiter::rate_limiter(redis_options redis, std::string prefix)
    : keys_(std::move(prefix)), conn_(std::move(redis)),
      rate_{"rate_limit", detail::rate_limit_lua, {}}, enter_{"enter", detail::enter_lua, {}} {}

milliseconds rate_limiter::try_acquire(const std::string& platform, const rate_limit& limit) {
    if (limit.per_second <= 0) {
        throw error(errc::invalid_argument, "rate limit of " + platform + " must be positive");
    }
    const double interval_ms = 1000.0 / limit.per_second;
    std::lock_guard lock(mutex_);
    const auto reply =
        conn_.eval(rate_, {keys_.rate(platform), keys_.cooldown(platform)},
                   {std::to_string(interval_ms), std::to_string(std::max(1.0, limit.burst))});
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

void rate_limiter::cooldown(const std::string& platform, double factor, milliseconds duration) {
    if (factor <= 0 || factor > 1) {
        throw error(errc::invalid_argument, "cooldown factor must be in (0, 1]");
    }
    std::lock_guard lock(mutex_);
    conn_.command({"SET", keys_.cooldown(platform), std::to_string(factor), "PX",
                   std::to_string(duration.count())});
}

double rate_limiter::cooldown_factor(const std::string& platform) {
    std::lock_guard lock(mutex_);
    const auto reply = conn_.command({"GET", keys_.cooldown(platform)});
    return reply.is_nil() ? 1.0 : std::stod(reply.as_string());
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

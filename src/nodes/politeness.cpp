#include "nodes/politeness.hpp"

#include "nodes/detail/blocking.hpp"
#include "queue/errors.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace rotor::nodes {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

namespace {

asio::awaitable<void> sleep_for(milliseconds d) {
    if (d.count() <= 0) co_return;
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

milliseconds jitter(milliseconds lo, milliseconds hi) {
    if (hi <= lo) return lo;
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return milliseconds(std::uniform_int_distribution<long long>(lo.count(), hi.count())(rng));
}

} // namespace

politeness_counters& process_politeness_counters() {
    static politeness_counters counters;
    return counters;
}

politeness::politeness(const platform_config& config, queue::rate_limiter* limiter,
                       asio::thread_pool& blocking)
    : config_(config), limiter_(limiter), blocking_(blocking) {}

asio::awaitable<bool> politeness::wait(const item_context& item) {
    // Waits are cut into short slices so that a stop is not held up.
    auto pause = [&](milliseconds d) -> asio::awaitable<bool> {
        const auto until = clock_type::now() + d;
        while (clock_type::now() < until) {
            if (item.stopping()) co_return false;
            item.touch();
            co_await sleep_for(std::min(milliseconds(250), std::chrono::duration_cast<milliseconds>(
                                                               until - clock_type::now())));
        }
        co_return !item.stopping();
    };
    if (!co_await pause(jitter(config_.rate_limit.wait_min, config_.rate_limit.wait_max))) {
        co_return false;
    }
    if (limiter_ == nullptr) co_return true;
    const bool rated = config_.rate_limit.requests_per_minute > 0;
    const queue::rate_limit rate{config_.rate_limit.requests_per_minute / 60.0,
                                 static_cast<double>(std::max(1, config_.rate_limit.burst))};
    for (;;) {
        if (!rated) {
            // No rate: only a cooldown can hold the item. Its state is read at most every
            // 500 ms per worker, not once per item (that would double an item's round trips).
            const auto now = clock_type::now().time_since_epoch().count();
            const auto checked = cooldown_checked_at_.load();
            if (now - checked < std::chrono::nanoseconds(milliseconds(500)).count()) {
                if (!cooling_.load()) co_return true;
                if (!co_await pause(milliseconds(250))) co_return false;
                continue;
            }
            cooldown_checked_at_ = now;
        }
        auto ask = [limiter = limiter_, platform = config_.platform, rate, rated,
                    cooling = &cooling_] {
            if (rated) return limiter->try_acquire(platform, rate);
            const bool on = limiter->cooldown_factor(platform) < 0.999;
            *cooling = on;
            return on ? milliseconds(500) : milliseconds(0);
        };
        milliseconds wait{0};
        try {
            wait = co_await detail::run_blocking(blocking_, std::move(ask));
        } catch (const queue::error& e) {
            if (e.kind() != queue::errc::redis_unavailable) throw;
            wait = milliseconds(1000); // Redis away: wait for it, the item is not at fault
        }
        if (wait.count() <= 0) co_return true;
        if (rated) {
            ++process_politeness_counters().rate_waits;
            process_politeness_counters().rate_wait_ms += static_cast<std::uint64_t>(wait.count());
        }
        if (!co_await pause(wait)) co_return false;
    }
}

asio::awaitable<item_outcome> politeness::cool_down(const std::string& why) {
    ++cooldowns_;
    ++process_politeness_counters().cooldowns;
    cooling_ = true;
    cooldown_checked_at_ = clock_type::now().time_since_epoch().count();
    const auto duration = std::chrono::duration_cast<milliseconds>(config_.rate_limit.cooldown);
    if (limiter_ != nullptr) {
        // With a rate: a quarter of it for cooldown_s, then a ramp back. Without one: a pause for
        // everyone for cooldown_s (the factor is read by every lane's wait).
        const auto ramp = config_.rate_limit.requests_per_minute > 0 ? duration : milliseconds(0);
        auto slow_down = [limiter = limiter_, platform = config_.platform, duration, ramp] {
            limiter->cooldown(platform, 0.25, duration, ramp);
        };
        try {
            co_await detail::run_blocking(blocking_, std::move(slow_down));
        } catch (const queue::error& e) {
            spdlog::warn("{}: cooling down: {}", config_.platform, e.what());
        }
    }
    co_return item_outcome::blocked(why, duration);
}

} // namespace rotor::nodes

// The platform rate limiter against a real redis-server. Timing tests count admissions over
// windows with bounds wide enough for a loaded 2-core machine (a late thread only admits fewer,
// so upper bounds are tight and lower bounds generous), and wait on conditions, not sleeps.
#include "queue/rate_limiter.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace rotor::queue {
namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

class RateLimiterTest : public ::testing::Test {
  protected:
    redis_options redis() const {
        redis_options r;
        r.port = server_.port();
        r.retry_for = milliseconds(3000);
        return r;
    }
    // Requests admitted by `limiter` in `window`, asking again when told to wait.
    static int admitted_in(rate_limiter& limiter, const std::string& platform,
                           const rate_limit& limit, milliseconds window) {
        int n = 0;
        const auto end = clock_type::now() + window;
        while (clock_type::now() < end) {
            const auto wait = limiter.try_acquire(platform, limit);
            if (wait.count() == 0) {
                if (clock_type::now() < end) ++n;
            } else {
                std::this_thread::sleep_for(std::min(wait, milliseconds(50)));
            }
        }
        return n;
    }
    // Polls the cooldown factor until `done(factor)` or 10 s; returns the last factor.
    template <typename Done> static double wait_for_factor(rate_limiter& l, Done done) {
        const auto deadline = clock_type::now() + std::chrono::seconds(10);
        double f = l.cooldown_factor("p");
        while (!done(f) && clock_type::now() < deadline) {
            std::this_thread::sleep_for(milliseconds(5));
            f = l.cooldown_factor("p");
        }
        return f;
    }
    test::redis_server server_;
};

TEST_F(RateLimiterTest, HoldsWorkersTogetherToTheRate) {
    constexpr double rate = 40;
    const auto run_for = std::chrono::seconds(3);
    std::atomic<int> admitted{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
        workers.emplace_back([&] {
            rate_limiter limiter(redis());
            admitted += admitted_in(limiter, "musinsa", {rate, 1}, run_for);
        });
    }
    for (auto& t : workers) t.join();
    // Never more than the rate (+1: the first request of a quiet limiter goes at once); fewer
    // only when every thread oversleeps a slot, which a loaded machine does.
    EXPECT_LE(admitted.load(), rate * 3 + 2) << admitted.load() << " in 3 s";
    EXPECT_GE(admitted.load(), rate * 3 * 0.4) << admitted.load() << " in 3 s";
}

TEST_F(RateLimiterTest, BurstLetsThatManyGoBackToBackThenHoldsTheRate) {
    rate_limiter limiter(redis());
    const rate_limit limit{5, 4}; // one every 200 ms, 4 at once after a quiet spell
    const auto start = clock_type::now();
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(limiter.try_acquire("p", limit).count(), 0) << "request " << i << " waited";
    }
    const auto fifth = limiter.try_acquire("p", limit);
    if (clock_type::now() - start < milliseconds(200)) {
        EXPECT_GT(fifth.count(), 0) << "a fifth request went within the burst";
    }
    // Then the rate: 5/s, whatever the burst.
    const int n = admitted_in(limiter, "p", limit, milliseconds(2000));
    EXPECT_LE(n, 2 * 5 + 1);
    EXPECT_GE(n, 4);
}

TEST_F(RateLimiterTest, CooldownsOfSeveralWorkersKeepTheHarsherFactor) {
    rate_limiter a(redis());
    rate_limiter b(redis());
    b.cooldown("p", 0.25, milliseconds(5000)); // one worker saw 429s
    a.cooldown("p", 0.5, milliseconds(1000));  // another saw a few, a moment later
    EXPECT_DOUBLE_EQ(b.cooldown_factor("p"), 0.25) << "a milder cooldown sped the platform up";
    a.cooldown("p", 0.1, milliseconds(1000));
    EXPECT_DOUBLE_EQ(b.cooldown_factor("p"), 0.1);
    EXPECT_DOUBLE_EQ(a.cooldown("p", 0.5, milliseconds(1)), 0.1);
}

TEST_F(RateLimiterTest, CooldownRecoversAlongARampNotAStep) {
    rate_limiter a(redis());
    rate_limiter b(redis());
    b.cooldown("p", 0.2, milliseconds(300)); // ramp: 300 ms too
    std::vector<double> seen;
    const double last = wait_for_factor(a, [&](double f) {
        seen.push_back(f);
        return f >= 1.0;
    });
    EXPECT_DOUBLE_EQ(last, 1.0) << "the cooldown never ended";
    ASSERT_FALSE(seen.empty());
    EXPECT_DOUBLE_EQ(seen.front(), 0.2);
    int ramping = 0;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        if (seen[i] > 0.25 && seen[i] < 0.95) ++ramping;
        if (i > 0) {
            EXPECT_GE(seen[i], seen[i - 1]) << "the factor fell back while ramping";
        }
    }
    EXPECT_GE(ramping, 3) << "the factor jumped from 0.2 to 1 (" << seen.size() << " samples)";
}

TEST_F(RateLimiterTest, CooldownSlowsEveryoneThenRampsBackToTheFullRate) {
    rate_limiter a(redis());
    rate_limiter b(redis());
    const rate_limit limit{40, 1};
    b.cooldown("p", 0.25, milliseconds(1000)); // another worker saw a 429: 10/s, ramp 1 s
    const int slow = admitted_in(a, "p", limit, milliseconds(500));
    EXPECT_LE(slow, 7) << "at most 10/s for 0.5 s, not 40/s";
    // Right after the cooldown the rate climbs from 10/s: about 9 in the first 0.5 s of the
    // ramp (a step back would admit 20).
    wait_for_factor(a, [](double f) { return f > 0.25; });
    const int ramping = admitted_in(a, "p", limit, milliseconds(500));
    EXPECT_LE(ramping, 14) << "the full rate came back at once";
    EXPECT_GE(ramping, 3);
    wait_for_factor(a, [](double f) { return f >= 1.0; });
    const int full = admitted_in(a, "p", limit, milliseconds(1000));
    EXPECT_LE(full, 42);
    EXPECT_GE(full, 24) << "the rate did not recover";
}

} // namespace
} // namespace rotor::queue

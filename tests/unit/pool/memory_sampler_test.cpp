// The sampler's own thread: passes happen, a blocked pass is reported as a stall, stop() does
// not hang on it.
#include "pool/memory_sampler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace rotor::pool {
namespace {

using namespace std::chrono_literals;

TEST(MemorySampler, ReportsEveryIntervalAndAStalledPass) {
    std::mutex mutex;
    std::condition_variable cv;
    bool block = false;
    bool release = false;
    std::atomic<int> reports{0};
    memory_sampler s(100ms, [&](std::vector<memory_sampler::reading>, const std::vector<pid_t>&) {
        ++reports;
        std::unique_lock lock(mutex);
        if (block) cv.wait(lock, [&] { return release; }); // a /proc read stuck in D state
    });
    std::this_thread::sleep_for(450ms);
    EXPECT_GE(reports.load(), 3);
    EXPECT_FALSE(s.stalled());
    {
        std::lock_guard lock(mutex);
        block = true;
    }
    // 3 intervals + 5 s without a finished pass: stalled.
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!s.stalled() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(s.stalled());
    {
        std::lock_guard lock(mutex);
        release = true;
    }
    cv.notify_all();
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(s.stalled());
    const auto stopping = std::chrono::steady_clock::now();
    s.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, 2s);
}

} // namespace
} // namespace rotor::pool

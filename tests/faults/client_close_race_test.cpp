// A call made while the client closes or its I/O thread stops must still complete (with a
// result or an error): a call posted to an I/O thread that never runs it again used to hang its
// caller forever.
#include "browser_fixture.hpp"
#include "fake_devtools.hpp"

#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace rotor::test {
namespace {

using cdp::errc;
using cdp::json;
using std::chrono::milliseconds;
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

struct outcome {
    int ok = 0;
    int failed = 0;
    int hung = 0;
};

// Every future must be ready by `deadline`; counts how they ended.
outcome settle(std::vector<std::future<json>>& futures, clock_type::time_point deadline) {
    outcome o;
    for (auto& f : futures) {
        if (f.wait_until(deadline) != std::future_status::ready) {
            ++o.hung;
            continue;
        }
        try {
            f.get();
            ++o.ok;
        } catch (const cdp::error&) {
            ++o.failed;
        }
    }
    return o;
}

TEST(ClientCloseRace, CallsMadeAfterTheIoThreadStoppedFailWhenTheClientCloses) {
    fake_devtools_peer peer;
    auto io = std::make_shared<asio::io_context>();
    auto guard = asio::make_work_guard(*io);
    std::thread runner([io] { io->run(); });
    auto c = cdp::client::connect(io, peer.port(), "/devtools/browser/fake", milliseconds(5000));
    auto first =
        c->async_call("Test.first", json::object(), "", milliseconds(5000), asio::use_future);
    ASSERT_EQ(first.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    first.get();

    // The I/O thread is gone while the client still counts as open.
    io->stop();
    runner.join();
    std::vector<std::future<json>> futures;
    std::mutex futures_mutex;
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
        callers.emplace_back([&] {
            for (int i = 0; i < 25; ++i) {
                auto f = c->async_call("Test.lost", json::object(), "", milliseconds(60000),
                                       asio::use_future);
                std::lock_guard lock(futures_mutex);
                futures.push_back(std::move(f));
            }
        });
    }
    for (auto& t : callers) t.join();
    c->close("closed by the test");
    const auto o = settle(futures, clock_type::now() + milliseconds(3000));
    EXPECT_EQ(o.hung, 0) << o.hung << " of " << futures.size() << " calls never completed";
    EXPECT_EQ(o.failed, 100);
    EXPECT_EQ(c->stats().pending, 0u);
    // New calls fail at once.
    auto late =
        c->async_call("Test.late", json::object(), "", milliseconds(60000), asio::use_future);
    ASSERT_EQ(late.wait_for(std::chrono::seconds(3)), std::future_status::ready);
    EXPECT_THROW(late.get(), cdp::error);
    // The stopped context still holds the handlers posted to it (each keeps the client alive,
    // and the client keeps the context): run it once more so they end, as a worker's I/O thread
    // does before it exits. Without this LeakSanitizer reports the cycle.
    guard.reset();
    io->restart();
    io->run_for(std::chrono::seconds(2));
}

// close() and the I/O thread's natural end (no work left) race with callers on many threads.
TEST(ClientCloseRace, CallsRacingCloseAndTheEndOfTheIoThreadAllComplete) {
    fake_devtools_peer peer;
    outcome total;
    std::size_t calls = 0;
    for (int round = 0; round < 30; ++round) {
        auto io = std::make_shared<asio::io_context>();
        auto guard = asio::make_work_guard(*io);
        std::thread runner([io] { io->run(); });
        auto c =
            cdp::client::connect(io, peer.port(), "/devtools/browser/fake", milliseconds(5000));
        std::atomic<bool> stop{false};
        std::mutex futures_mutex;
        std::vector<std::future<json>> futures;
        std::vector<std::thread> callers;
        for (int t = 0; t < 6; ++t) {
            callers.emplace_back([&] {
                while (!stop) {
                    auto f = c->async_call("Test.spam", json::object(), "", milliseconds(60000),
                                           asio::use_future);
                    std::lock_guard lock(futures_mutex);
                    futures.push_back(std::move(f));
                    if (futures.size() > 20000) break;
                }
            });
        }
        std::this_thread::sleep_for(milliseconds(5));
        c->close("closed by the test");
        guard.reset();
        runner.join(); // the I/O thread ends once its work is done
        std::this_thread::sleep_for(milliseconds(2));
        stop = true;
        for (auto& t : callers) t.join();
        const auto o = settle(futures, clock_type::now() + milliseconds(3000));
        total.ok += o.ok;
        total.failed += o.failed;
        total.hung += o.hung;
        calls += futures.size();
    }
    EXPECT_EQ(total.hung, 0) << total.hung << " of " << calls << " calls never completed";
    EXPECT_GT(total.failed, 0);
}

// The same with a real browser: callers on many threads while browser::close() runs.
TEST_F(BrowserTest, CallsRacingBrowserCloseAllComplete) {
    std::atomic<bool> stop{false};
    std::mutex futures_mutex;
    std::vector<std::future<json>> futures;
    std::vector<std::thread> callers;
    const auto c = browser_->cdp();
    for (int t = 0; t < 6; ++t) {
        callers.emplace_back([&] {
            while (!stop) {
                auto f = c->async_call("Browser.getVersion", json::object(), "",
                                       milliseconds(60000), asio::use_future);
                {
                    std::lock_guard lock(futures_mutex);
                    futures.push_back(std::move(f));
                }
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        });
    }
    std::this_thread::sleep_for(milliseconds(200));
    browser_->close();
    std::this_thread::sleep_for(milliseconds(20));
    stop = true;
    for (auto& t : callers) t.join();
    const auto o = settle(futures, clock_type::now() + milliseconds(5000));
    EXPECT_EQ(o.hung, 0) << o.hung << " of " << futures.size() << " calls never completed";
    EXPECT_GT(o.ok, 0);
    EXPECT_GT(o.failed, 0);
}

} // namespace
} // namespace rotor::test

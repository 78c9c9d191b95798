// The lease queue alone: FIFO hand-over, deadlines, a grant racing a deadline, close.
#include "pool/errors.hpp"
#include "pool/lease_queue.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rotor::pool {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct outcome {
    std::optional<bool> got;
    bool stopped = false;
};

asio::awaitable<void> taker(lease_queue* q, clock_type::time_point deadline, outcome* out,
                            std::vector<int>* order, int id) {
    try {
        out->got = co_await q->take(deadline);
        if (*out->got) order->push_back(id);
    } catch (const error& e) {
        out->stopped = e.kind() == errc::stopped;
    }
}

TEST(LeaseQueue, HandsLeasesOutFirstComeFirstServed) {
    asio::io_context io;
    lease_queue q(io.get_executor(), 1);
    std::vector<int> order;
    std::vector<outcome> outs(4);
    const auto far = clock_type::now() + 10s;
    for (int i = 0; i < 4; ++i)
        asio::co_spawn(io, taker(&q, far, &outs[i], &order, i), asio::detached);
    io.run_for(50ms);
    ASSERT_EQ(order, (std::vector<int>{0}));
    EXPECT_EQ(q.waiting(), 3u);
    // Each return goes to the oldest waiter, never to a newcomer that arrives meanwhile.
    q.give_back();
    asio::co_spawn(io, taker(&q, far, &outs[0], &order, 99), asio::detached);
    io.run_for(50ms);
    EXPECT_EQ(order, (std::vector<int>{0, 1}));
    q.give_back();
    q.give_back();
    io.run_for(50ms);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
    q.give_back();
    io.run_for(50ms);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 99}));
    EXPECT_EQ(q.in_use(), 1u);
}

TEST(LeaseQueue, AWaiterGivesUpAtItsDeadlineAndLeavesTheLine) {
    asio::io_context io;
    lease_queue q(io.get_executor(), 1);
    std::vector<int> order;
    outcome first, late, patient;
    asio::co_spawn(io, taker(&q, clock_type::now() + 10s, &first, &order, 0), asio::detached);
    asio::co_spawn(io, taker(&q, clock_type::now() + 100ms, &late, &order, 1), asio::detached);
    asio::co_spawn(io, taker(&q, clock_type::now() + 10s, &patient, &order, 2), asio::detached);
    const auto started = clock_type::now();
    io.run_for(300ms);
    ASSERT_TRUE(late.got.has_value());
    EXPECT_FALSE(*late.got);
    EXPECT_EQ(q.waiting(), 1u);
    q.give_back(); // to the patient one, not the one that left
    io.run_for(50ms);
    EXPECT_EQ(order, (std::vector<int>{0, 2}));
    EXPECT_GE(clock_type::now() - started, 100ms);
}

TEST(LeaseQueue, AGrantThatRacesTheDeadlineIsKept) {
    asio::io_context io;
    lease_queue q(io.get_executor(), 1);
    std::vector<int> order;
    outcome first, racer;
    asio::co_spawn(io, taker(&q, clock_type::now() + 10s, &first, &order, 0), asio::detached);
    const auto deadline = clock_type::now() + 30ms;
    asio::co_spawn(io, taker(&q, deadline, &racer, &order, 1), asio::detached);
    io.run_for(10ms);
    // The deadline passes, then the lease is given back before the waiter's handler runs.
    while (clock_type::now() < deadline + 5ms) {
    }
    q.give_back();
    io.run_for(50ms);
    ASSERT_TRUE(racer.got.has_value());
    EXPECT_TRUE(*racer.got) << "a lease handed over was lost";
    EXPECT_EQ(q.in_use(), 1u);
}

TEST(LeaseQueue, CloseFailsWaitersAndLaterTakes) {
    asio::io_context io;
    lease_queue q(io.get_executor(), 1);
    std::vector<int> order;
    outcome first, waiting, after;
    asio::co_spawn(io, taker(&q, clock_type::now() + 10s, &first, &order, 0), asio::detached);
    asio::co_spawn(io, taker(&q, clock_type::now() + 10s, &waiting, &order, 1), asio::detached);
    io.run_for(20ms);
    q.close();
    asio::co_spawn(io, taker(&q, clock_type::now() + 10s, &after, &order, 2), asio::detached);
    io.run_for(50ms);
    EXPECT_TRUE(waiting.stopped);
    EXPECT_TRUE(after.stopped);
    EXPECT_EQ(order, (std::vector<int>{0}));
}

} // namespace
} // namespace rotor::pool

// Item outcomes, graceful release and outages, against a real redis-server: nothing is written
// without the lease, an item is never both a result and a failure, a released job goes first
// with its checkpoint and no stall, an outage longer than a lease counts no stall against the
// workers that come back.
#include "queue/job_queue.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace rotor::queue {
namespace {

using std::chrono::milliseconds;

class JobOutcomeTest : public ::testing::Test {
  protected:
    redis_options redis() const {
        redis_options r;
        r.port = server_.port();
        r.retry_for = milliseconds(5000);
        return r;
    }
    queue_options options(milliseconds lease = milliseconds(60000)) const {
        queue_options o;
        o.batch_size = 3;
        o.lease = lease;
        return o;
    }
    std::string enqueue(job_queue& q, std::size_t items = 3) {
        enqueue_request r;
        r.platform = "p";
        for (std::size_t i = 0; i < items; ++i) r.items.push_back(std::to_string(100 + i));
        return q.enqueue(r).job_ids.front();
    }
    test::redis_server server_;
};

TEST_F(JobOutcomeTest, AReapedWorkerWritesNothingAndNoItemIsBothAResultAndAFailure) {
    job_queue a(redis(), options(milliseconds(300)));
    job_queue b(redis(), options(milliseconds(300)));
    const auto id = enqueue(a);
    auto first = a.claim("p", "worker-a");
    ASSERT_TRUE(first);
    EXPECT_EQ(a.store_result(*first, "scan", 0, 3, {{"price", 1}}), 1u);
    std::this_thread::sleep_for(milliseconds(400)); // A's lease expires
    EXPECT_EQ(b.reap_stalled("p").first, 1);
    auto second = b.claim("p", "worker-b");
    ASSERT_TRUE(second);
    // The old holder's late writes fail and leave nothing behind.
    EXPECT_THROW(a.store_result(*first, "scan", 1, 3, {{"price", 2}}), error);
    EXPECT_THROW(a.record_failure(*first, "scan", 2, 3, "102", "late"), error);
    EXPECT_EQ(b.command({"HEXISTS", "workflow:results:" + id, "1"}).as_integer(), 0);
    EXPECT_EQ(b.command({"LLEN", "workflow:failures:" + id}).as_integer(), 0);
    // The new holder records item 1 as failed; a second outcome for it (a replay, or a result
    // after the failure) changes nothing.
    EXPECT_EQ(b.record_failure(*second, "scan", 1, 3, "101", "404"), 2u);
    EXPECT_EQ(b.store_result(*second, "scan", 1, 3, {{"price", 9}}), 2u);
    EXPECT_EQ(b.record_failure(*second, "scan", 1, 3, "101", "404"), 2u);
    EXPECT_EQ(b.command({"HEXISTS", "workflow:results:" + id, "1"}).as_integer(), 0);
    EXPECT_EQ(b.command({"LLEN", "workflow:failures:" + id}).as_integer(), 1);
    EXPECT_EQ(b.store_result(*second, "scan", 2, 3, {{"price", 3}}), 3u);
    EXPECT_EQ(b.command({"HLEN", "workflow:results:" + id}).as_integer(), 2);
    EXPECT_GT(b.command({"TTL", "workflow:results:" + id}).as_integer(), 0);
    b.complete(*second);
}

TEST_F(JobOutcomeTest, AReleasedJobGoesFirstWithItsCheckpointAndNoStall) {
    job_queue q(redis(), options());
    const auto first_id = enqueue(q, 9); // three jobs, in order
    auto job = q.claim("p", "w1");
    ASSERT_TRUE(job);
    ASSERT_EQ(job->id, first_id);
    q.store_result(*job, "scan", 0, 3, {{"price", 1}});
    auto other = q.claim("p", "w1"); // the second job, so the first is not simply the oldest left
    ASSERT_TRUE(other);
    // A job older than the released one waits in the same tier (one retried from long ago):
    // released with its own score, the job would queue behind it.
    q.command({"HSET", "workflow:job:old", "id", "old", "platform", "p", "params",
               R"({"product_ids":["1"]})", "status", "queued", "attempts", "0", "max_attempts", "3",
               "stalled", "0", "score", "10000000000001"});
    q.command({"ZADD", "workflow:queue:platform:p", "10000000000001", "old"});
    EXPECT_TRUE(q.release(*job));
    EXPECT_FALSE(q.release(*job)); // a replay answers, it does not fail
    auto fields = q.job_fields(first_id);
    EXPECT_EQ(fields.at("status"), "queued");
    EXPECT_EQ(fields.at("stalled"), "0");
    EXPECT_EQ(fields.at("attempts"), "0");
    EXPECT_EQ(q.counts("p").running, 1);
    // Ahead of the older job and of the third one: the front of its tier.
    auto again = q.claim("p", "w2");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->id, first_id);
    auto after = q.claim("p", "w3");
    ASSERT_TRUE(after);
    EXPECT_EQ(after->id, "old") << "the older job comes next, then the third";
    EXPECT_EQ(q.load_checkpoint(first_id, "scan").processed_index, 1u);
    EXPECT_THROW(q.release(*job), error); // the old lease is fenced out
    EXPECT_EQ(q.reap_stalled("p").first, 0);
}

// A job reaped from under a lease keeps its token (the lease count rises at the next claim):
// a late fail() by the old holder used to look like a replay of a fail, and answered "retry"
// with nothing recorded.
TEST_F(JobOutcomeTest, AFailFromAReapedLeaseIsALostLeaseNotAReplay) {
    job_queue q(redis(), options(milliseconds(300)));
    const auto id = enqueue(q);
    auto job = q.claim("p", "w1");
    ASSERT_TRUE(job);
    std::this_thread::sleep_for(milliseconds(400));
    ASSERT_EQ(q.reap_stalled("p").first, 1);
    try {
        q.fail(*job, "the shop answered 500 for every item");
        FAIL() << "a fail() without the lease was answered as if it had counted";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::lease_lost) << e.what();
    }
    EXPECT_EQ(q.job_fields(id).at("attempts"), "0");
    EXPECT_EQ(q.job_fields(id).at("status"), "queued");
    // The holder's own fail, replayed, still answers with its decision.
    auto again = q.claim("p", "w2");
    ASSERT_TRUE(again);
    const auto d = q.fail(*again, "boom");
    EXPECT_FALSE(d.dead);
    const auto replay = q.fail(*again, "boom");
    EXPECT_FALSE(replay.dead);
    EXPECT_EQ(q.job_fields(id).at("attempts"), "1");
}

TEST_F(JobOutcomeTest, AnOutageLongerThanALeaseCountsNoStallAgainstAWorkerThatComesBack) {
    const milliseconds lease(900);
    auto o = options(lease);
    o.outage_gap = milliseconds(500);
    job_queue a(redis(), o);
    job_queue b(redis(), o);
    enqueue(a);
    auto job = a.claim("p", "worker-a");
    ASSERT_TRUE(job);
    a.renew(*job);
    b.heartbeat("worker-b", nlohmann::json::object());
    server_.pause(); // nobody reaches Redis for longer than a lease
    std::this_thread::sleep_for(lease * 3);
    server_.resume();
    // Another worker reaps first: the expired lease is not counted as a stall...
    const auto reaped = b.reap_stalled("p");
    EXPECT_EQ(reaped.first, 0);
    EXPECT_EQ(reaped.second, 0);
    // ...and the worker that held it renews and keeps it.
    EXPECT_NO_THROW(a.renew(*job));
    EXPECT_EQ(a.job_fields(job->id).at("stalled"), "0");
    EXPECT_EQ(a.job_fields(job->id).at("status"), "running");
    a.complete(*job);
}

// With the default outage_gap an idle worker polling every second never re-arms the hold, even
// with a lease shorter than its poll: a dead worker's job is reaped.
TEST_F(JobOutcomeTest, ADeadWorkersJobIsReapedWhileIdleWorkersPollSlowerThanALease) {
    const milliseconds lease(600);
    job_queue a(redis(), options(lease));
    job_queue b(redis(), options(lease));
    enqueue(a);
    auto job = a.claim("p", "worker-a"); // worker a dies here
    ASSERT_TRUE(job);
    // b keeps the pulse going (no outage): the lease expires and is reaped as a stall.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::int64_t requeued = 0;
    while (requeued == 0 && std::chrono::steady_clock::now() < until) {
        b.heartbeat("worker-b", nlohmann::json::object());
        requeued = b.reap_stalled("p").first;
        std::this_thread::sleep_for(milliseconds(1000)); // an idle worker's poll
    }
    EXPECT_EQ(requeued, 1);
    EXPECT_EQ(b.job_fields(job->id).at("stalled"), "1");
}

} // namespace
} // namespace rotor::queue

// A command whose reply never came may still have run: Redis was busy past the client's command
// timeout and ran it later, so the client's retry is a replay. Every queue operation answers a
// replay with what it did the first time; nothing is done twice.
#include "queue/job_admin.hpp"
#include "queue/job_queue.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace rotor::queue {
namespace {

using std::chrono::milliseconds;

enqueue_result enqueue(job_queue& q, std::vector<std::string> items) {
    enqueue_request r;
    r.platform = "p";
    r.items = std::move(items);
    return q.enqueue(r);
}

class RedisReplayTest : public ::testing::Test {
  protected:
    redis_options redis(milliseconds command_timeout = milliseconds(5000)) const {
        redis_options r;
        r.port = server_.port();
        r.command_timeout = command_timeout;
        r.retry_backoff = milliseconds(20);
        r.retry_backoff_max = milliseconds(50);
        r.retry_for = milliseconds(10000);
        return r;
    }
    queue_options options() const {
        queue_options o;
        o.batch_size = 1;
        o.max_attempts = 3;
        return o;
    }
    // Runs `op` on a client whose command timeout (150 ms) expires while Redis is busy for
    // 700 ms with a script of another client: the op's first send times out, its retries time
    // out too, and Redis runs every copy once it is free. The client has loaded every script
    // before (on another platform), so what is sent and replayed is the op's own script.
    template <typename Op> void while_redis_is_busy(Op op) {
        job_queue slow(redis(milliseconds(150)), options());
        enqueue_request warm;
        warm.platform = "warm-up";
        warm.items = {"1", "2"};
        slow.enqueue(warm);
        auto job = slow.claim("warm-up", "w");
        slow.record_failure(*job, "scan", 0, 1, "1", "warming up");
        job = slow.complete_and_claim(*job);
        slow.fail(*job, "warming up");
        std::thread blocker([this] {
            job_queue other(redis(), options());
            other.command({"EVAL",
                           "local t = redis.call('TIME') local s = t[1] * 1e6 + t[2] "
                           "while true do local n = redis.call('TIME') "
                           "if n[1] * 1e6 + n[2] - s > 700000 then break end end return 1",
                           "0"});
        });
        struct joiner {
            std::thread& t;
            ~joiner() { t.join(); } // also when the op throws
        } join_blocker{blocker};
        std::this_thread::sleep_for(milliseconds(100));
        const auto reconnects = slow.reconnects();
        op(slow);
        EXPECT_GE(slow.reconnects(), reconnects + 1) << "the op was never retried";
    }
    test::redis_server server_;
};

TEST_F(RedisReplayTest, AReplayedEnqueueAddsNoJobs) {
    job_queue q(redis(), options());
    enqueue_result result;
    while_redis_is_busy([&](job_queue& slow) {
        enqueue_request r;
        r.platform = "p";
        r.items = {"1", "2", "3"};
        result = slow.enqueue(r);
    });
    EXPECT_EQ(result.job_ids.size(), 3u);
    EXPECT_EQ(q.counts("p").queued, 3) << "the enqueue ran more than once";
    EXPECT_EQ(q.progress(result.group_id).total, 3);
}

TEST_F(RedisReplayTest, AReplayedClaimLeasesOneJobAndAnswersWithIt) {
    job_queue q(redis(), options());
    enqueue(q, {"1", "2", "3"});
    std::optional<job_lease> job;
    while_redis_is_busy([&](job_queue& slow) { job = slow.claim("p", "w"); });
    ASSERT_TRUE(job);
    const auto running = job_admin(redis(), options()).list("p", job_state::running);
    ASSERT_EQ(running.size(), 1u) << "a replayed claim leased a second job";
    EXPECT_EQ(running[0].id, job->id);
    EXPECT_EQ(running[0].fields.at("lease_token"), job->token);
    EXPECT_EQ(q.counts("p").queued, 2);
    q.complete(*job);
}

TEST_F(RedisReplayTest, AReplayedCompleteAndClaimCompletesOnceAndLeasesOne) {
    job_queue q(redis(), options());
    const auto group = enqueue(q, {"1", "2", "3"}).group_id;
    auto first = q.claim("p", "w");
    ASSERT_TRUE(first);
    std::optional<job_lease> next;
    while_redis_is_busy([&](job_queue& slow) { next = slow.complete_and_claim(*first); });
    ASSERT_TRUE(next);
    EXPECT_NE(next->id, first->id);
    EXPECT_EQ(q.counts("p").running, 1) << "a replay leased a second job";
    EXPECT_EQ(q.counts("p").queued, 1);
    EXPECT_EQ(q.progress(group).completed, 1) << "the job was counted twice";
}

TEST_F(RedisReplayTest, AReplayedItemFailureIsRecordedOnce) {
    job_queue q(redis(), options());
    enqueue(q, {"1"});
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    while_redis_is_busy(
        [&](job_queue& slow) { slow.record_failure(*job, "scan", 0, 1, "1", "HTTP 404"); });
    EXPECT_EQ(q.failures(job->id).size(), 1u);
    EXPECT_EQ(q.job_fields(job->id).at("failed_items"), "1");
}

TEST_F(RedisReplayTest, AReplayedJobFailureCountsOneAttempt) {
    job_queue q(redis(), options());
    enqueue(q, {"1"});
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    retry_decision d;
    while_redis_is_busy([&](job_queue& slow) { d = slow.fail(*job, "pool unhealthy"); });
    EXPECT_FALSE(d.dead);
    EXPECT_EQ(q.job_fields(job->id).at("attempts"), "1") << "one failure counted twice";
    EXPECT_EQ(q.counts("p").delayed, 1);
}

} // namespace
} // namespace rotor::queue

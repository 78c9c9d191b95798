// Dead jobs against a real redis-server: they expire after dead_retention, the dead set is
// trimmed as jobs die, old ones can be cleaned away, and no script creates a hash for an id
// whose job is gone.
#include "queue/job_admin.hpp"
#include "queue/job_queue.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace rotor::queue {
namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

class JobAdminTest : public ::testing::Test {
  protected:
    redis_options redis() const {
        redis_options r;
        r.port = server_.port();
        r.retry_for = milliseconds(3000);
        return r;
    }
    static queue_options options() {
        queue_options o;
        o.batch_size = 1;
        o.max_attempts = 1;
        o.dead_retention = std::chrono::seconds(100);
        return o;
    }
    // Enqueues `n` one-item jobs of `platform` and lets each die with "broken <i>".
    static std::vector<std::string> kill_jobs(job_queue& q, const std::string& platform, int n) {
        enqueue_request r;
        r.platform = platform;
        for (int i = 0; i < n; ++i) r.items.push_back(std::to_string(i));
        const auto ids = q.enqueue(r).job_ids;
        for (int i = 0; i < n; ++i) {
            auto job = q.claim(platform, "w");
            EXPECT_TRUE(job && q.fail(*job, "broken " + std::to_string(i)).dead);
        }
        return ids;
    }
    std::int64_t now_ms(job_queue& q) {
        const auto t = q.command({"TIME"});
        return t.elements.at(0).as_integer() * 1000 + t.elements.at(1).as_integer() / 1000;
    }
    test::redis_server server_;
};

bool within(std::int64_t ttl, std::int64_t retention) {
    return ttl > retention - 10 && ttl <= retention;
}

// A dead job whose score is not a number (garbage, "nan") is requeued at the normal tier: it
// used to leave the dead set before ZADD failed, and then was in no set at all.
TEST_F(JobAdminTest, ADeadJobWithABadScoreIsRequeuedNotLost) {
    job_queue q(redis(), options());
    job_admin admin(redis(), options());
    const auto& k = q.key_names();
    const auto ids = kill_jobs(q, "p", 2);
    q.command({"HSET", k.job(ids[0]), "score", "not-a-number"});
    q.command({"HSET", k.job(ids[1]), "score", "nan"});
    for (const auto& id : ids) {
        EXPECT_NO_THROW(admin.requeue(id)) << id;
        EXPECT_FALSE(q.command({"ZSCORE", k.queue("p"), id}).is_nil()) << id << " is in no queue";
        EXPECT_TRUE(q.command({"ZSCORE", k.dead("p"), id}).is_nil()) << id;
    }
    EXPECT_TRUE(q.claim("p", "w").has_value());
    EXPECT_TRUE(q.claim("p", "w").has_value());
}

TEST_F(JobAdminTest, DeadJobsExpireAfterTheRetentionAndTheDeadSetIsTrimmed) {
    auto o = options();
    o.max_stalled = 0;
    o.lease = milliseconds(50);
    job_queue q(redis(), o);
    const auto& k = q.key_names();
    // A job dead since before retention existed: no TTL, 101 s old.
    q.command({"HSET", k.job("ancient"), "id", "ancient", "platform", "p", "status", "dead"});
    q.command({"ZADD", k.dead("p"), std::to_string(now_ms(q) - 101000), "ancient"});

    const auto failed = kill_jobs(q, "p", 1).at(0); // fail()
    EXPECT_TRUE(within(q.command({"TTL", k.job(failed)}).as_integer(), 100));
    EXPECT_TRUE(q.command({"ZSCORE", k.dead("p"), "ancient"}).is_nil())
        << "a dead entry older than the retention stayed";
    EXPECT_EQ(q.command({"EXISTS", k.job("ancient")}).as_integer(), 0);

    // Dead-lettered by a claim (malformed), by the C++ side, and by a reap (stalled).
    q.command({"HSET", k.job("bad"), "platform", "p", "params", "[]", "status", "queued"});
    q.command({"ZADD", k.queue("p"), "1", "bad"});
    q.command({"HSET", k.job("hex"), "platform", "p", "params", R"({"product_ids":[0x1]})"});
    q.command({"ZADD", k.queue("p"), "2", "hex"});
    enqueue_request r;
    r.platform = "p";
    r.items = {"1"};
    const auto stalled = q.enqueue(r).job_ids.at(0);
    ASSERT_TRUE(q.claim("p", "w"));
    std::int64_t dead = 0;
    const auto deadline = clock_type::now() + std::chrono::seconds(10);
    while (dead == 0 && clock_type::now() < deadline) dead = q.reap_stalled("p").second;
    ASSERT_EQ(dead, 1);
    for (const auto& id : {std::string("bad"), std::string("hex"), stalled}) {
        EXPECT_TRUE(within(q.command({"TTL", k.job(id)}).as_integer(), 100)) << id;
    }
    EXPECT_EQ(q.counts("p").dead, 4);

    job_admin admin(redis(), o);
    admin.requeue(failed);
    EXPECT_EQ(q.command({"TTL", k.job(failed)}).as_integer(), -1) << "a requeued job expired";
}

TEST_F(JobAdminTest, ClaimAndReapCreateNothingForIdsWhoseHashIsGone) {
    job_queue q(redis(), options());
    const auto& k = q.key_names();
    q.command({"ZADD", k.queue("p"), "1", "gone-queued"});
    q.command({"ZADD", k.delayed("p"), "1", "gone-delayed"});
    q.command({"ZADD", k.running("p"), "1", "gone-running"});
    EXPECT_FALSE(q.claim("p", "w"));
    EXPECT_EQ(q.reap_stalled("p"), std::make_pair(std::int64_t{0}, std::int64_t{0}));
    for (const char* id : {"gone-queued", "gone-delayed", "gone-running"}) {
        EXPECT_EQ(q.command({"EXISTS", k.job(id)}).as_integer(), 0) << id << ": a hash was made";
    }
    const auto c = q.counts("p");
    EXPECT_EQ(c.queued + c.running + c.delayed + c.dead, 0) << "an id stayed in a set";
}

TEST_F(JobAdminTest, CleanRemovesDeadJobsOlderThanTheAgeWithTheirFailuresAndResults) {
    job_queue q(redis(), options());
    job_admin admin(redis(), options());
    const auto& k = q.key_names();
    const auto ids = kill_jobs(q, "p", 3);
    kill_jobs(q, "other", 1);
    const auto eight_days_ago = std::to_string(now_ms(q) - 8 * 86400 * 1000LL);
    for (int i = 0; i < 2; ++i) {
        q.command({"ZADD", k.dead("p"), "XX", eight_days_ago, ids[i]});
        q.command({"RPUSH", k.failures(ids[i]), "{}"});
        q.command({"HSET", k.prefix() + "results:" + ids[i], "0", "{}"});
    }
    const auto listed = admin.list("p", job_state::dead);
    ASSERT_EQ(listed.size(), 3u);
    EXPECT_EQ(listed[0].fields.at("last_error"), "broken 0");
    EXPECT_EQ(admin.platforms_with_dead(), (std::vector<std::string>{"other", "p"}));
    const auto s = admin.stats("p");
    EXPECT_EQ(s.counts.dead, 3);
    EXPECT_EQ(std::to_string(s.oldest_dead_ms), eight_days_ago);

    EXPECT_EQ(admin.clean_dead("p", std::chrono::hours(7 * 24)), 2);
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(q.command({"EXISTS", k.job(ids[i]), k.failures(ids[i]),
                             k.prefix() + "results:" + ids[i]})
                      .as_integer(),
                  0);
    }
    EXPECT_EQ(admin.list("p", job_state::dead).size(), 1u) << "a younger dead job was cleaned";
    EXPECT_EQ(admin.job_fields(ids[2]).at("status"), "dead");
    EXPECT_EQ(admin.clean_dead("p", std::chrono::hours(7 * 24)), 0);
    EXPECT_EQ(q.counts("other").dead, 1) << "another platform was cleaned";
    EXPECT_EQ(q.progress(listed[0].fields.at("group")).failed, 3) << "the group keeps its counts";
}

// rotorctl status reads a platform in one script: every figure of one moment (read one by one, a
// job moving between the reads was counted twice or not at all) and one round trip.
TEST_F(JobAdminTest, StatsAreOneReadOfOneMoment) {
    job_queue q(redis(), options());
    job_admin admin(redis(), options());
    const auto& k = q.key_names();
    kill_jobs(q, "p", 1);
    auto o = options();
    o.max_attempts = 3;
    o.retry_backoff = std::chrono::minutes(10);
    job_queue retrying(redis(), o);
    enqueue_request r;
    r.platform = "p";
    r.items = {"a", "b", "c", "d", "e"};
    retrying.enqueue(r);
    auto delayed = retrying.claim("p", "w");
    ASSERT_TRUE(delayed);
    ASSERT_FALSE(retrying.fail(*delayed, "try later").dead);
    auto stalled = retrying.claim("p", "w");
    auto running = retrying.claim("p", "w");
    ASSERT_TRUE(stalled && running);
    q.command({"ZADD", k.running("p"), "XX", "1", stalled->id}); // its lease ran out long ago
    admin.pause("p", "ops", "maintenance");
    const auto until = now_ms(q) + 60000;
    q.command(
        {"HSET", k.cooldown("p"), "factor", "0.5", "until", std::to_string(until), "ramp", "1000"});
    auto calls = [&](const std::string& command) {
        return test::command_calls(q.command({"INFO", "commandstats"}).as_string(), command);
    };
    q.command({"CONFIG", "RESETSTAT"});
    const auto s = admin.stats("p");
    EXPECT_EQ(calls("evalsha") + calls("eval"), 1) << "the stats were not one script call";
    EXPECT_EQ(calls("zcard"), 4);
    EXPECT_EQ(calls("time"), 1);
    EXPECT_EQ(s.counts.queued, 2);
    EXPECT_EQ(s.counts.running, 2);
    EXPECT_EQ(s.counts.delayed, 1);
    EXPECT_EQ(s.counts.dead, 1);
    EXPECT_EQ(s.stalled, 1);
    EXPECT_GT(s.oldest_dead_ms, 0);
    EXPECT_LE(s.oldest_dead_ms, s.now_ms);
    EXPECT_GE(s.now_ms, until - 60000);
    EXPECT_EQ(nlohmann::json::parse(s.paused)["reason"], "maintenance");
    EXPECT_DOUBLE_EQ(s.cooldown_factor, 0.5);
    EXPECT_EQ(s.cooldown_until_ms, until);

    // Keys of another shape: a pause key that is not a string still pauses (claims check that
    // it exists); a cooldown that is not a hash is none, as the scripts read it.
    q.command({"DEL", k.paused("p"), k.cooldown("p")});
    q.command({"RPUSH", k.paused("p"), "x"});
    q.command({"SET", k.cooldown("p"), "0.5"});
    const auto odd = admin.stats("p");
    EXPECT_NE(odd.paused.find("not a string"), std::string::npos) << odd.paused;
    EXPECT_DOUBLE_EQ(odd.cooldown_factor, 1);
    EXPECT_EQ(odd.cooldown_until_ms, 0);
    EXPECT_FALSE(retrying.claim("p", "w")) << "the pause key of another type no longer paused";

    q.command({"DEL", k.paused("p")});
    q.command({"SET", k.paused("p"), ""});
    EXPECT_NE(admin.stats("p").paused.find("empty"), std::string::npos) << "an empty pause key";
    EXPECT_FALSE(retrying.claim("p", "w")) << "the empty pause key no longer paused";

    q.command({"DEL", k.paused("p"), k.cooldown("p")});
    const auto plain = admin.stats("p");
    EXPECT_TRUE(plain.paused.empty());
    EXPECT_DOUBLE_EQ(plain.cooldown_factor, 1);
}

} // namespace
} // namespace rotor::queue

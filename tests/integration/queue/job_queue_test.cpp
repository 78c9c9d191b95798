// The queue against a real redis-server started per test on a free port.
#include "queue/job_admin.hpp"
#include "queue/job_queue.hpp"
#include "queue/rate_limiter.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace rotor::queue {
namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

std::vector<std::string> numbered(std::size_t n, std::size_t from = 1) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::to_string(from + i));
    return out;
}

// An enqueue request for `n` numbered items of `platform`.
enqueue_request request_for(const std::string& platform, std::size_t n, std::size_t from = 1) {
    enqueue_request r;
    r.platform = platform;
    r.items = numbered(n, from);
    return r;
}

class JobQueueTest : public ::testing::Test {
  protected:
    redis_options redis() const {
        redis_options r;
        r.port = server_.port();
        r.retry_for = milliseconds(3000);
        return r;
    }
    queue_options options(std::size_t batch = 50) const {
        queue_options o;
        o.batch_size = batch;
        return o;
    }
    test::redis_server server_;
};

TEST_F(JobQueueTest, EnqueueSplitsIntoBatchesUnderOneGroup) {
    job_queue q(redis(), options(50));
    enqueue_request r;
    r.platform = "oliveyoung";
    r.workflow_id = "oliveyoung-update-v2";
    r.items = numbered(1400);
    const auto result = q.enqueue(r);
    ASSERT_EQ(result.job_ids.size(), 28u);
    const auto fields = q.job_fields(result.job_ids[27]);
    EXPECT_EQ(fields.at("platform"), "oliveyoung");
    EXPECT_EQ(fields.at("status"), "queued");
    const auto params = nlohmann::json::parse(fields.at("params"));
    EXPECT_EQ(params["batch_index"], 27);
    EXPECT_EQ(params["batch_total"], 28);
    EXPECT_EQ(params["product_ids"].size(), 1400u - 27 * 50);
    EXPECT_EQ(params["product_ids"][0], "1351");
    const auto g = q.progress(result.group_id);
    EXPECT_EQ(g.total, 28);
    EXPECT_EQ(q.counts("oliveyoung").queued, 28);
    EXPECT_THROW(q.progress("no-such-group"), error);
}

TEST_F(JobQueueTest, ClaimIsExclusiveUnderSixteenThreads) {
    {
        job_queue q(redis(), options(1));
        auto r = request_for("p", 1000);
        ASSERT_EQ(q.enqueue(r).job_ids.size(), 1000u);
    }
    std::mutex mutex;
    std::multiset<std::string> claimed;
    std::vector<std::thread> workers;
    for (int w = 0; w < 16; ++w) {
        workers.emplace_back([&, w] {
            job_queue q(redis(), options(1));
            while (auto job = q.claim("p", "worker-" + std::to_string(w))) {
                q.complete(*job);
                std::lock_guard lock(mutex);
                claimed.insert(job->id);
            }
        });
    }
    for (auto& t : workers) t.join();
    EXPECT_EQ(claimed.size(), 1000u);
    std::set<std::string> distinct(claimed.begin(), claimed.end());
    EXPECT_EQ(distinct.size(), 1000u); // nobody got a job twice
    job_queue q(redis(), options(1));
    const auto c = q.counts("p");
    EXPECT_EQ(c.queued, 0);
    EXPECT_EQ(c.running, 0);
}

TEST_F(JobQueueTest, CompleteAndClaimIsExclusiveAndFenced) {
    {
        job_queue q(redis(), options(1));
        auto r = request_for("p", 300);
        q.enqueue(r);
    }
    std::mutex mutex;
    std::multiset<std::string> claimed;
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; ++w) {
        workers.emplace_back([&, w] {
            job_queue q(redis(), options(1));
            auto job = q.claim("p", "w" + std::to_string(w));
            while (job) {
                {
                    std::lock_guard lock(mutex);
                    claimed.insert(job->id);
                }
                job = q.complete_and_claim(*job);
            }
        });
    }
    for (auto& t : workers) t.join();
    EXPECT_EQ(claimed.size(), 300u);
    EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 300u);
    job_queue q(redis(), options(1));
    EXPECT_EQ(q.counts("p").running, 0);
    // A stale token can neither complete nor claim through it.
    enqueue_request r;
    r.platform = "p";
    r.items = {"x"};
    q.enqueue(r);
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    auto stale = *job;
    stale.token = "0";
    EXPECT_THROW(q.complete_and_claim(stale), error);
}

TEST_F(JobQueueTest, PriorityThenAge) {
    job_queue q(redis(), options(1));
    enqueue_request low;
    low.platform = "p";
    low.items = {"low-1"};
    low.prio = priority::low;
    enqueue_request normal = low;
    normal.items = {"normal-1"};
    normal.prio = priority::normal;
    enqueue_request high = low;
    high.items = {"high-1", "high-2"};
    high.prio = priority::high;
    q.enqueue(low);
    q.enqueue(normal);
    q.enqueue(high);
    std::vector<std::string> order;
    while (auto job = q.claim("p", "w")) {
        order.push_back(job->items().at(0));
        q.complete(*job);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"high-1", "high-2", "normal-1", "low-1"}));
}

TEST_F(JobQueueTest, ExpiredLeaseIsTakenOverAndTheOldWorkerIsFencedOff) {
    auto o = options(10);
    o.lease = milliseconds(300);
    job_queue a(redis(), o);
    job_queue b(redis(), o);
    auto r = request_for("p", 10);
    a.enqueue(r);
    auto old = a.claim("p", "a");
    ASSERT_TRUE(old);
    a.checkpoint(*old, "scan", 0, 10);
    std::this_thread::sleep_for(milliseconds(400));
    EXPECT_EQ(b.reap_stalled("p"), std::make_pair(std::int64_t{1}, std::int64_t{0}));
    auto fresh = b.claim("p", "b");
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->id, old->id);
    EXPECT_NE(fresh->token, old->token);

    for (auto attempt : {0, 1, 2}) {
        try {
            if (attempt == 0) a.complete(*old);
            if (attempt == 1) a.checkpoint(*old, "scan", 1, 10);
            if (attempt == 2) a.renew(*old);
            FAIL() << "the old lease still wrote (attempt " << attempt << ")";
        } catch (const error& e) {
            EXPECT_EQ(e.kind(), errc::lease_lost) << e.what();
        }
    }
    EXPECT_EQ(b.checkpoint(*fresh, "scan", 1, 10), 2u);
    b.renew(*fresh);
    b.complete(*fresh);
    b.complete(*fresh); // idempotent for the holder
    EXPECT_EQ(b.job_fields(fresh->id).at("status"), "done");
    EXPECT_EQ(b.job_fields(fresh->id).at("stalled"), "1");
}

TEST_F(JobQueueTest, ResumeFromACheckpointSkipsExactlyTheDoneItems) {
    auto o = options(10);
    o.lease = milliseconds(200);
    job_queue q(redis(), o);
    auto r = request_for("p", 10, 100);
    q.enqueue(r);
    auto first = q.claim("p", "a");
    ASSERT_TRUE(first);
    // Items finish out of order under concurrency; 5 failed but counts as processed.
    for (std::size_t i : {0u, 1u, 2u, 4u, 7u}) q.checkpoint(*first, "scan", i, 10);
    q.record_failure(*first, "scan", 5, 10, "105", "navigate: timeout after 30000 ms");
    // The worker dies: its lease expires and another resumes.
    std::this_thread::sleep_for(milliseconds(300));
    q.reap_stalled("p");
    auto second = q.claim("p", "b");
    ASSERT_TRUE(second);
    const auto cp = q.load_checkpoint(second->id, "scan");
    EXPECT_EQ(cp.processed_index, 3u);
    EXPECT_EQ(cp.done_beyond, (std::set<std::size_t>{4, 5, 7}));
    EXPECT_EQ(cp.total, 10u);
    EXPECT_EQ(cp.pending(), (std::vector<std::size_t>{3, 6, 8, 9}));
    std::vector<std::string> todo;
    for (auto i : cp.pending()) todo.push_back(second->items().at(i));
    EXPECT_EQ(todo, (std::vector<std::string>{"103", "106", "108", "109"}));
}

TEST_F(JobQueueTest, RetriesBackOffAndEndInDeadLetter) {
    auto o = options(5);
    o.max_attempts = 3;
    o.retry_backoff = milliseconds(200);
    job_queue q(redis(), o);
    auto r = request_for("p", 5);
    const auto group = q.enqueue(r).group_id;

    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    const job_lease first_lease = *job;
    auto d = q.fail(*job, "browser pool unhealthy");
    EXPECT_FALSE(d.dead);
    EXPECT_GE(d.backoff, milliseconds(100)); // 200 ms x jitter 0.5..1
    EXPECT_LE(d.backoff, milliseconds(200));
    EXPECT_FALSE(q.claim("p", "w")) << "a delayed job was claimable before its backoff";
    EXPECT_EQ(q.counts("p").delayed, 1);
    std::this_thread::sleep_for(d.backoff + milliseconds(50));
    job = q.claim("p", "w");
    ASSERT_TRUE(job);
    EXPECT_NE(job->token, first_lease.token) << "every lease of a job gets its own token";
    try {
        q.complete(first_lease);
        FAIL() << "the failed lease completed the retried job";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::lease_lost) << e.what();
    }
    d = q.fail(*job, "again");
    EXPECT_FALSE(d.dead);
    EXPECT_GE(d.backoff, milliseconds(200)); // doubled
    EXPECT_LE(d.backoff, milliseconds(400));
    std::this_thread::sleep_for(d.backoff + milliseconds(50));
    job = q.claim("p", "w");
    ASSERT_TRUE(job);
    d = q.fail(*job, "third time");
    EXPECT_TRUE(d.dead);
    EXPECT_EQ(q.counts("p").dead, 1);
    const auto fields = q.job_fields(job->id);
    EXPECT_EQ(fields.at("status"), "dead");
    EXPECT_EQ(fields.at("last_error"), "third time");
    EXPECT_EQ(fields.at("attempts"), "3");
    EXPECT_EQ(q.progress(group).failed, 1);
}

TEST_F(JobQueueTest, FailuresListKeepsItsItemsForSevenDays) {
    job_queue q(redis(), options(3));
    enqueue_request r;
    r.platform = "p";
    r.items = {"11", "404001", "13"};
    q.enqueue(r);
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    q.record_failure(*job, "scan", 1, 3, "404001", "HTTP 404");
    const auto failures = q.failures(job->id);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].item, "404001");
    EXPECT_EQ(failures[0].error, "HTTP 404");
    EXPECT_GT(failures[0].timestamp_ms, 1700000000000);
    const auto ttl = q.failures_ttl_seconds(job->id);
    EXPECT_GT(ttl, 7 * 24 * 3600 - 60);
    EXPECT_LE(ttl, 7 * 24 * 3600);
    EXPECT_EQ(q.job_fields(job->id).at("failed_items"), "1");
}

TEST_F(JobQueueTest, BatchGroupProgressAddsUp) {
    auto o = options(50);
    o.max_attempts = 1;
    job_queue q(redis(), o);
    auto r = request_for("p", 120);
    const auto enq = q.enqueue(r);
    ASSERT_EQ(enq.job_ids.size(), 3u);
    auto a = q.claim("p", "w");
    q.complete(*a);
    auto g = q.progress(enq.group_id);
    EXPECT_EQ(g.completed, 1);
    EXPECT_NEAR(g.progress, 33.33, 0.01);
    auto b = q.claim("p", "w");
    q.complete(*b);
    auto c = q.claim("p", "w");
    EXPECT_TRUE(q.fail(*c, "whole job failed").dead);
    g = q.progress(enq.group_id);
    EXPECT_EQ(g.total, 3);
    EXPECT_EQ(g.completed, 2);
    EXPECT_EQ(g.failed, 1);
    EXPECT_DOUBLE_EQ(g.progress, 100.0);
}

TEST_F(JobQueueTest, DoneJobsAndTheirGroupExpireAfterTheRetention) {
    auto o = options(2);
    o.retention = std::chrono::seconds(100);
    job_queue q(redis(), o);
    auto r = request_for("p", 4);
    const auto enq = q.enqueue(r);
    const std::string group_key = "workflow:batch-group:" + enq.group_id;
    const auto group_ttl = q.command({"TTL", group_key}).as_integer();
    EXPECT_GT(group_ttl, 90);
    EXPECT_LE(group_ttl, 100);
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    const std::string job_key = "workflow:job:" + job->id;
    EXPECT_EQ(q.command({"TTL", job_key}).as_integer(), -1) << "a running job must not expire";
    auto next = q.complete_and_claim(*job);
    ASSERT_TRUE(next);
    const auto job_ttl = q.command({"TTL", job_key}).as_integer();
    EXPECT_GT(job_ttl, 90);
    EXPECT_LE(job_ttl, 100);
    EXPECT_EQ(q.command({"TTL", "workflow:job:" + next->id}).as_integer(), -1);
    q.complete(*next);
    EXPECT_GT(q.command({"TTL", "workflow:job:" + next->id}).as_integer(), 90);
}

TEST_F(JobQueueTest, DoneJobsCanBeDeletedAtCompletionWhileTheirGroupStillAddsUp) {
    auto o = options(2);
    o.keep_done_jobs = false;
    job_queue q(redis(), o);
    auto r = request_for("p", 6);
    const auto enq = q.enqueue(r);
    ASSERT_EQ(enq.job_ids.size(), 3u);
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    q.record_failure(*job, "scan", 0, 2, "1", "HTTP 404");
    auto next = q.complete_and_claim(*job);
    ASSERT_TRUE(next);
    EXPECT_EQ(q.command({"EXISTS", "workflow:job:" + job->id}).as_integer(), 0);
    EXPECT_NO_THROW(q.complete(*job)) << "completing a deleted job again is a no-op";
    EXPECT_EQ(q.failures(job->id).size(), 1u) << "its failures outlive the job hash";
    q.complete(*next);
    EXPECT_EQ(q.command({"EXISTS", "workflow:job:" + next->id}).as_integer(), 0);
    auto last = q.claim("p", "w");
    ASSERT_TRUE(last);
    EXPECT_EQ(q.job_fields(last->id).at("status"), "running") << "only done jobs are deleted";
    q.complete(*last);
    const auto g = q.progress(enq.group_id);
    EXPECT_EQ(g.completed, 3);
    EXPECT_DOUBLE_EQ(g.progress, 100.0);
    EXPECT_EQ(q.counts("p").running, 0);

    o.retention = std::chrono::seconds(0);
    EXPECT_THROW(job_queue(redis(), o), error) << "a zero retention would drop batch groups";
}

TEST_F(JobQueueTest, EnqueueingTwiceIntoOneGroupAddsJobsWithoutReplacingAny) {
    job_queue q(redis(), options(2));
    enqueue_request r;
    r.platform = "p";
    r.group_id = "daily-run";
    r.items = numbered(4);
    const auto first = q.enqueue(r);
    r.items = numbered(4, 101);
    const auto second = q.enqueue(r);
    ASSERT_EQ(first.job_ids.size(), 2u);
    ASSERT_EQ(second.job_ids.size(), 2u);
    std::set<std::string> ids(first.job_ids.begin(), first.job_ids.end());
    ids.insert(second.job_ids.begin(), second.job_ids.end());
    EXPECT_EQ(ids.size(), 4u) << "job ids collided";
    EXPECT_EQ(q.counts("p").queued, 4);
    EXPECT_EQ(q.progress("daily-run").total, 4);
    std::multiset<std::string> items;
    while (auto job = q.claim("p", "w")) {
        for (const auto& item : job->items()) items.insert(item);
        q.complete(*job);
    }
    EXPECT_EQ(items.size(), 8u);
    EXPECT_EQ(items.count("1"), 1u);
    EXPECT_EQ(items.count("104"), 1u);
    EXPECT_DOUBLE_EQ(q.progress("daily-run").progress, 100.0);
}

// Job ids used to come from the group hash's total: once that hash expired while a dead job or a
// checkpoint of the group lived on, enqueueing into the same group id numbered from 0 again,
// overwrote the dead job and resumed the new job from the old checkpoint.
TEST_F(JobQueueTest, AGroupIdEnqueuedAgainAfterItsHashExpiredNeverReusesAJobId) {
    auto o = options(2);
    o.max_attempts = 1;
    job_queue q(redis(), o);
    const auto& k = q.key_names();
    enqueue_request r;
    r.platform = "p";
    r.group_id = "daily";
    r.items = {"1", "2"};
    const auto old_id = q.enqueue(r).job_ids.at(0);
    auto old = q.claim("p", "w");
    ASSERT_TRUE(old);
    q.checkpoint(*old, "scan", 0, 2); // item 0 done, then the job dies
    ASSERT_TRUE(q.fail(*old, "platform changed its page").dead);
    q.command({"DEL", k.batch_group("daily")}); // its retention passed

    r.items = {"3", "4"};
    const auto fresh_id = q.enqueue(r).job_ids.at(0);
    EXPECT_NE(fresh_id, old_id) << "a job id was given twice";
    const auto dead = q.job_fields(old_id);
    EXPECT_EQ(dead.at("status"), "dead") << "the dead job was overwritten";
    EXPECT_EQ(dead.at("last_error"), "platform changed its page");
    EXPECT_EQ(q.load_checkpoint(fresh_id, "scan").processed_index, 0u)
        << "the new job would resume from the old job's checkpoint";
    const auto g = q.progress("daily");
    EXPECT_EQ(g.total, 1);
    EXPECT_EQ(g.failed, 0) << "the recreated group counts its own jobs only";
    EXPECT_EQ(q.command({"TTL", k.batch_group("daily")}).as_integer() > 0, true);

    // A job of the earlier group finishing late counts in neither group, and a group whose
    // hash expired is not brought back without its total and TTL.
    r.group_id = "short-lived";
    r.items = {"5"};
    r.prio = priority::high;
    q.enqueue(r);
    auto late = q.claim("p", "w");
    ASSERT_TRUE(late);
    ASSERT_EQ(late->group_id, "short-lived");
    q.command({"DEL", k.batch_group("short-lived")});
    q.complete(*late);
    EXPECT_EQ(q.command({"EXISTS", k.batch_group("short-lived")}).as_integer(), 0)
        << "a late completion recreated an expired group (no total, no TTL)";
    auto fresh = q.claim("p", "w");
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->id, fresh_id);
    q.complete(*fresh);
    EXPECT_EQ(q.progress("daily").completed, 1);
    EXPECT_DOUBLE_EQ(q.progress("daily").progress, 100.0);
    job_admin(redis(), o)
        .requeue(old_id); // the earlier group's dead job: not pending in the new group
    EXPECT_EQ(q.progress("daily").failed, 0);
    EXPECT_DOUBLE_EQ(q.progress("daily").progress, 100.0);
}

TEST_F(JobQueueTest, ADeadJobCanBeInspectedAndRequeuedAndItsGroupCountsItAgain) {
    auto o = options(2);
    o.max_attempts = 1;
    job_queue q(redis(), o);
    job_admin admin(redis(), o);
    enqueue_request r;
    r.platform = "p";
    r.prio = priority::high;
    r.items = numbered(4);
    const auto enq = q.enqueue(r);
    auto job = q.claim("p", "w1");
    ASSERT_TRUE(job);
    const auto running = admin.list("p", job_state::running);
    ASSERT_EQ(running.size(), 1u);
    EXPECT_EQ(running[0].id, job->id);
    EXPECT_EQ(running[0].fields.at("worker"), "w1") << "which worker runs which job";
    EXPECT_EQ(running[0].at_ms, job->lease_deadline_ms);
    ASSERT_TRUE(q.fail(*job, "platform changed its page").dead);
    EXPECT_EQ(q.progress(enq.group_id).failed, 1);

    const auto dead = admin.list("p", job_state::dead);
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].fields.at("last_error"), "platform changed its page");
    try {
        admin.requeue(enq.job_ids[1]);
        FAIL() << "a queued job was requeued";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::not_found);
        EXPECT_NE(std::string(e.what()).find("it is queued"), std::string::npos) << e.what();
    }
    EXPECT_THROW(admin.requeue("no-such-job"), error);

    admin.requeue(job->id);
    EXPECT_EQ(q.counts("p").dead, 0);
    auto g = q.progress(enq.group_id);
    EXPECT_EQ(g.failed, 0);
    EXPECT_DOUBLE_EQ(g.progress, 0.0);
    // Back with its high priority and age: ahead of its group's other job.
    auto again = q.claim("p", "w2");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->id, job->id);
    EXPECT_EQ(again->attempts, 0);
    EXPECT_EQ(admin.list("p", job_state::queued).size(), 1u);
    q.complete(*again);
    auto rest = q.claim("p", "w2");
    ASSERT_TRUE(rest);
    q.complete(*rest);
    g = q.progress(enq.group_id);
    EXPECT_EQ(g.completed, 2);
    EXPECT_EQ(g.failed, 0);
    EXPECT_DOUBLE_EQ(g.progress, 100.0);
}

TEST_F(JobQueueTest, TheWorkerRegistryDropsWorkersNotHeardOf) {
    auto o = options();
    o.worker_ttl = milliseconds(300);
    job_queue q(redis(), o);
    q.heartbeat("old", {{"platform", "p"}});
    q.heartbeat("leaving", {{"platform", "p"}});
    q.forget_worker("leaving");
    auto registry = q.workers();
    ASSERT_EQ(registry.size(), 1u);
    EXPECT_EQ(registry[0].id, "old");
    EXPECT_EQ(registry[0].status["platform"], "p");
    std::this_thread::sleep_for(milliseconds(400));
    q.heartbeat("new", {{"platform", "p"}});
    registry = q.workers();
    ASSERT_EQ(registry.size(), 1u) << "a worker silent past worker_ttl stayed";
    EXPECT_EQ(registry[0].id, "new");
    EXPECT_TRUE(q.command({"HGET", "workflow:workers", "old"}).is_nil());
}

TEST_F(JobQueueTest, ABusyWorkerPicksUpDueRetriesWithoutDrainingTheQueueFirst) {
    auto o = options(1);
    o.retry_backoff = milliseconds(100);
    o.delayed_poll = milliseconds(50);
    job_queue q(redis(), o);
    auto r = request_for("p", 300);
    q.enqueue(r);
    auto failing = q.claim("p", "a");
    ASSERT_TRUE(failing);
    const auto d = q.fail(*failing, "browser crashed");
    ASSERT_FALSE(d.dead);
    const auto due = clock_type::now() + d.backoff;

    // Worker b never calls claim() again: only complete_and_claim, one job every 5 ms.
    auto job = q.claim("p", "b");
    int served = 0;
    std::optional<clock_type::time_point> retried_at;
    while (job) {
        if (job->id == failing->id) {
            retried_at = clock_type::now();
            EXPECT_EQ(job->attempts, 1);
        }
        std::this_thread::sleep_for(milliseconds(5));
        job = q.complete_and_claim(*job);
        ++served;
    }
    EXPECT_EQ(served, 300) << "every job, the retried one included, is served once more";
    ASSERT_TRUE(retried_at) << "the due retry was never claimed";
    EXPECT_GE(*retried_at, due);
    // Re-queued with its original score, it is next as soon as it is promoted: well before the
    // 299 other jobs (about 1.5 s of work) are done.
    EXPECT_LT(*retried_at - due, milliseconds(800));
}

TEST_F(JobQueueTest, MalformedJobsGoToDeadLetterWithTheirReason) {
    job_queue q(redis(), options(1));
    const auto& k = q.key_names();
    q.command({"ZADD", k.queue("p"), "1", "ghost"}); // no hash at all
    q.command({"HSET", k.job("badjson"), "platform", "p", "params", "{not json"});
    q.command({"ZADD", k.queue("p"), "2", "badjson"});
    q.command({"HSET", k.job("noparams"), "platform", "p"});
    q.command({"ZADD", k.queue("p"), "3", "noparams"});
    enqueue_request r;
    r.platform = "p";
    r.items = {"42"};
    r.prio = priority::low;
    q.enqueue(r);
    auto job = q.claim("p", "w"); // skips the three broken ones
    ASSERT_TRUE(job);
    EXPECT_EQ(job->items(), std::vector<std::string>{"42"});
    EXPECT_EQ(q.counts("p").dead, 2) << "an id without a hash is dropped, not dead-lettered";
    EXPECT_EQ(q.command({"EXISTS", k.job("ghost")}).as_integer(), 0) << "a hash was created";
    EXPECT_EQ(q.job_fields("badjson").at("last_error"), "malformed_job: params are not valid JSON");
    EXPECT_EQ(q.job_fields("noparams").at("last_error"), "malformed_job: no params field");
}

// Params the claim script's cjson accepts but that give no items, or that nlohmann (the worker)
// cannot read at all, used to be leased: the job then "completed" with 0 items. Each is now
// dead-lettered with its reason, by the script or by the C++ side right after the claim.
TEST_F(JobQueueTest, MalformedJobsAreDeadLetteredInsteadOfCompletingWithNoItems) {
    job_queue q(redis(), options(1));
    const auto& k = q.key_names();
    struct bad_job {
        std::string id, params, reason;
    };
    const std::vector<bad_job> bad = {
        {"array", "[]", "params are not a JSON object"},
        {"array-of-ids", R"(["1","2"])", "params are not a JSON object"},
        {"empty", "{}", "params.product_ids is missing"},
        {"no-items", R"({"batch_index":0})", "params.product_ids is missing"},
        {"no-item", R"({"product_ids":[]})", "params.product_ids is empty"},
        {"items-object", R"({"product_ids":{"a":"1"}})", "params.product_ids is not an array"},
        {"items-string", R"({"product_ids":"1,2"})", "params.product_ids is not an array"},
        {"item-null", R"({"product_ids":["1",null]})", "holds something other than strings"},
        {"item-bool", R"({"product_ids":[true]})", "holds something other than strings"},
        {"item-nan", R"({"product_ids":[NaN]})", "NaN or infinite"},
        {"data-string", R"({"product_ids":["1"],"item_data":"x"})", "item_data is not an array"},
        {"data-short", R"({"product_ids":["1","2"],"item_data":[{}]})", "1 entries for 2"},
        {"data-number", R"({"product_ids":["1"],"item_data":[7]})", "other than objects and null"},
        // cjson reads [] and {} alike; nlohmann tells an array from an object.
        {"data-array", R"({"product_ids":["1"],"item_data":[["a"]]})", "other than objects"},
        // cjson reads these; nlohmann does not: the worker's side catches them.
        {"nan-elsewhere", R"({"product_ids":["1"],"x":NaN})", "parse error at byte"},
        {"hex", R"({"product_ids":[0x10]})", "parse error at byte"},
        {"utf8", "{\"product_ids\":[\"\xff\xfe\"]}", "parse error at byte"},
    };
    int score = 0;
    auto add = [&](const std::string& id, const std::string& params, const std::string& attempts) {
        q.command({"HSET", k.job(id), "id", id, "platform", "p", "params", params, "status",
                   "queued", "attempts", attempts, "max_attempts", "3", "stalled", "0", "score",
                   std::to_string(++score)});
        q.command({"ZADD", k.queue("p"), std::to_string(score), id});
    };
    for (const auto& b : bad) add(b.id, b.params, "0");
    // Thrown at the lease's parse, a bad count left the job leased and unrun until it died
    // "stalled 3 times".
    add("attempts", R"({"product_ids":["1"]})", "x");
    enqueue_request r;
    r.platform = "p";
    r.items = {"42"};
    q.enqueue(r);

    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    EXPECT_EQ(job->items(), std::vector<std::string>{"42"});
    for (const auto& b : bad) {
        const auto f = q.job_fields(b.id);
        EXPECT_EQ(f.at("status"), "dead") << b.id;
        EXPECT_EQ(f.at("last_error").rfind("malformed_job: ", 0), 0u)
            << b.id << ": " << f.at("last_error");
        EXPECT_NE(f.at("last_error").find(b.reason), std::string::npos)
            << b.id << ": " << f.at("last_error");
    }
    EXPECT_EQ(q.job_fields("attempts").at("last_error"), "malformed_job: attempts is not a number");
    EXPECT_EQ(q.counts("p").dead, static_cast<std::int64_t>(bad.size() + 1));

    // The same on complete_and_claim's path: the next job is malformed, the one after it runs.
    add("utf8-next", "{\"product_ids\":[\"\xc3\"]}", "0");
    r.items = {"43"};
    r.prio = priority::low;
    q.enqueue(r);
    auto next = q.complete_and_claim(*job);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->items(), std::vector<std::string>{"43"});
    EXPECT_EQ(q.job_fields("utf8-next").at("status"), "dead");
    const auto c = q.counts("p");
    EXPECT_EQ(c.running, 1);
    EXPECT_EQ(c.queued, 0);
    EXPECT_EQ(c.dead, static_cast<std::int64_t>(bad.size() + 2));
}

// rotor's enqueue checks every job's params with the worker's rule and stamps the job with
// their length (params_checked), so a claim does not decode them again; params changed since
// (another length) are decoded by the script, and a change of the same length is still caught
// by the worker's check after the claim. No job completes with no items either way.
TEST_F(JobQueueTest, EnqueuedParamsAreStampedAndParamsChangedSinceAreCheckedAgain) {
    job_queue q(redis(), options(1));
    const auto& k = q.key_names();
    auto r = request_for("p", 2);
    const auto ids = q.enqueue(r).job_ids;
    ASSERT_EQ(ids.size(), 2u);
    for (const auto& id : ids) {
        const auto f = q.job_fields(id);
        EXPECT_EQ(f.at("params_checked"), std::to_string(f.at("params").size())) << id;
    }
    // Another length: the script decodes them (its reason carries no byte offset).
    q.command({"HSET", k.job(ids[0]), "params", "{not json"});
    // The same length: the script takes the stamp, the worker's parse after the claim finds it.
    std::string same = q.job_fields(ids[1]).at("params");
    ASSERT_EQ(same.back(), '}');
    same.back() = ' ';
    q.command({"HSET", k.job(ids[1]), "params", same});
    r = request_for("p", 1, 42);
    r.prio = priority::low;
    q.enqueue(r);

    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    EXPECT_EQ(job->items(), std::vector<std::string>{"42"});
    EXPECT_EQ(q.job_fields(ids[0]).at("status"), "dead");
    EXPECT_EQ(q.job_fields(ids[0]).at("last_error"), "malformed_job: params are not valid JSON");
    const auto f = q.job_fields(ids[1]);
    EXPECT_EQ(f.at("status"), "dead");
    EXPECT_EQ(f.at("last_error").rfind("malformed_job: params are not valid JSON (parse error", 0),
              0u)
        << f.at("last_error");
    EXPECT_EQ(q.counts("p").dead, 2);
}

// Extra params that set what the enqueue writes itself (an item_data the items do not match
// would make jobs the worker cannot read) are refused before anything is written: no job, no
// group, no idempotency record, no counter.
TEST_F(JobQueueTest, AnEnqueueWithParamsTheWorkerCannotReadIsRefusedBeforeAnyWrite) {
    job_queue q(redis(), options(2));
    const std::vector<std::pair<std::string, nlohmann::json>> bad = {
        {"item_data", "x"},
        {"item_data", nlohmann::json::array({nlohmann::json::object()})},
        {"product_ids", nlohmann::json::array({"1"})},
        {"batch_index", 3},
    };
    for (const auto& key : {std::string(), std::string("retry-key")}) {
        for (const auto& [field, value] : bad) {
            auto r = request_for("p", 5);
            r.idempotency_key = key;
            r.extra_params = {{field, value}};
            try {
                q.enqueue(r);
                ADD_FAILURE() << field << " was taken (key '" << key << "')";
            } catch (const error& e) {
                EXPECT_EQ(e.kind(), errc::invalid_argument) << e.what();
                EXPECT_NE(std::string_view(e.what()).find("extra params may not set " + field),
                          std::string_view::npos)
                    << e.what();
            }
            EXPECT_EQ(q.command({"DBSIZE"}).as_integer(), 0) << field << " (key '" << key << "')";
        }
    }
}

// A platform's four counts are one script call: one round trip (the worker reads them for its
// queue-depth metric and its drain check), and one moment (read one by one, a retry promoted
// between the reads could make a drain see all four 0 while that job waits).
TEST_F(JobQueueTest, CountsAreReadInOneCall) {
    auto o = options(1);
    o.retry_backoff = std::chrono::minutes(10);
    job_queue q(redis(), o);
    auto r = request_for("p", 4);
    q.enqueue(r);
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    ASSERT_FALSE(q.fail(*job, "retry later").dead);
    auto running = q.claim("p", "w");
    ASSERT_TRUE(running);
    auto calls = [&](const std::string& command) {
        return test::command_calls(q.command({"INFO", "commandstats"}).as_string(), command);
    };
    q.command({"CONFIG", "RESETSTAT"});
    const auto c = q.counts("p");
    EXPECT_EQ(c.queued, 2);
    EXPECT_EQ(c.running, 1);
    EXPECT_EQ(c.delayed, 1);
    EXPECT_EQ(c.dead, 0);
    EXPECT_EQ(calls("evalsha") + calls("eval"), 1) << "the counts were not one script call";
    EXPECT_EQ(calls("zcard"), 4);
}

// write_enqueue_chunk, the public step every enqueue goes through, refuses a chunk whose params
// the worker could not read before writing it: enqueue.lua would stamp them as checked, and the
// claim script would then let them through undecoded.
TEST_F(JobQueueTest, AChunkWithParamsTheWorkerCannotReadIsRefusedUnwritten) {
    job_queue q(redis(), options(1));
    enqueue_target t;
    t.platform = "p";
    for (const std::string bad : {"[]", R"({"product_ids":[]})", "{not json"}) {
        enqueue_chunk chunk;
        chunk.target = &t;
        chunk.group_id = "g";
        chunk.params = {R"({"product_ids":["1"]})", bad};
        try {
            q.write_enqueue_chunk(chunk);
            ADD_FAILURE() << bad << " was written";
        } catch (const error& e) {
            EXPECT_EQ(e.kind(), errc::invalid_argument) << e.what();
            EXPECT_NE(std::string_view(e.what()).find("job 2 of the 2 in chunk 0"),
                      std::string_view::npos)
                << e.what();
        }
        EXPECT_EQ(q.command({"DBSIZE"}).as_integer(), 0) << bad;
    }
}

// A hash without a usable score used to be dropped from every set: promotion took it out of the
// delayed set and put it nowhere; a reap's ZADD failed after its ZREM. It gets one (now, normal
// tier) instead.
TEST_F(JobQueueTest, AJobWithoutAUsableScoreIsQueuedAgainNotDropped) {
    auto o = options(1);
    o.retry_backoff = milliseconds(1);
    o.lease = milliseconds(100);
    job_queue q(redis(), o);
    const auto& k = q.key_names();
    auto r = request_for("p", 1);
    const auto id = q.enqueue(r).job_ids.at(0);

    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    ASSERT_FALSE(q.fail(*job, "retry me").dead);
    q.command({"HDEL", k.job(id), "score"});
    std::optional<job_lease> again;
    const auto deadline = clock_type::now() + std::chrono::seconds(10);
    while (!again && clock_type::now() < deadline) again = q.claim("p", "w"); // once it is due
    ASSERT_TRUE(again) << "the retry was dropped on its way back to the queue";
    EXPECT_EQ(again->id, id);
    const auto score = q.job_fields(id).at("score");
    EXPECT_GE(std::stod(score), 1e13) << "normal tier, not ahead of every queued job";

    q.command({"HSET", k.job(id), "score", "not-a-number"});
    std::int64_t requeued = 0;
    while (requeued == 0 && clock_type::now() < deadline) requeued = q.reap_stalled("p").first;
    ASSERT_EQ(requeued, 1) << "the stalled job was not requeued";
    auto third = q.claim("p", "w");
    ASSERT_TRUE(third) << "the reaped job is in no set";
    EXPECT_EQ(third->id, id);
    EXPECT_TRUE(std::isfinite(std::stod(q.job_fields(id).at("score"))));
}

TEST_F(JobQueueTest, PlatformLockModeKeepsOneWorkerPerPlatform) {
    auto o = options(1);
    o.lock = lock_mode::platform;
    job_queue a(redis(), o);
    job_queue b(redis(), o);
    auto r = request_for("hwahae", 3);
    a.enqueue(r);
    auto held = a.claim("hwahae", "a");
    ASSERT_TRUE(held);
    EXPECT_FALSE(b.claim("hwahae", "b")) << "a second worker got a job of a locked platform";
    a.complete(*held);
    EXPECT_TRUE(b.claim("hwahae", "b"));
}

TEST_F(JobQueueTest, ConcurrencyCapIsClusterWide) {
    rate_limiter a(redis());
    rate_limiter b(redis());
    EXPECT_TRUE(a.try_enter("kurly", 2, "a-1", milliseconds(5000)));
    EXPECT_TRUE(b.try_enter("kurly", 2, "b-1", milliseconds(5000)));
    EXPECT_FALSE(b.try_enter("kurly", 2, "b-2", milliseconds(5000)));
    a.leave("kurly", "a-1");
    EXPECT_TRUE(b.try_enter("kurly", 2, "b-2", milliseconds(5000)));
    // A holder that dies frees its place when its ttl passes.
    EXPECT_TRUE(a.try_enter("ably", 1, "dead-holder", milliseconds(200)));
    EXPECT_FALSE(b.try_enter("ably", 1, "b", milliseconds(5000)));
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_TRUE(b.try_enter("ably", 1, "b", milliseconds(5000)));
}

TEST_F(JobQueueTest, BadRequestsAreClearErrors) {
    job_queue q(redis(), options());
    enqueue_request r;
    r.platform = "p";
    try {
        q.enqueue(r);
        FAIL() << "enqueued nothing";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("no items"), std::string::npos);
    }
}

TEST(RedisAuth, APasswordAndDatabaseFromTheUrlAndClearErrorsWithoutThem) {
    test::redis_server_options with_password;
    with_password.password = "s3cret";
    test::redis_server server(with_password);
    const std::string at = "127.0.0.1:" + std::to_string(server.port());
    auto r = parse_redis_url("redis://:s3cret@" + at + "/3");
    r.retry_for = milliseconds(500);
    job_queue q(r, {});
    enqueue_request req;
    req.platform = "p";
    req.items = {"1"};
    q.enqueue(req);
    EXPECT_EQ(q.counts("p").queued, 1);
    // The jobs are in database 3, not 0.
    auto db0 = parse_redis_url("redis://:s3cret@" + at);
    db0.retry_for = milliseconds(500);
    EXPECT_EQ(job_queue(db0, {}).counts("p").queued, 0);

    auto none = parse_redis_url("redis://" + at);
    none.retry_for = milliseconds(500);
    try {
        job_queue(none, {}).counts("p");
        FAIL() << "no password was accepted";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::redis_error);
        EXPECT_NE(std::string(e.what()).find("requires a password"), std::string::npos) << e.what();
    }
    auto wrong = parse_redis_url("redis://:guess@" + at);
    wrong.retry_for = milliseconds(500);
    const auto t0 = clock_type::now();
    try {
        job_queue(wrong, {}).counts("p");
        FAIL() << "a wrong password was accepted";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::redis_error) << "a refused password is not retried";
        EXPECT_NE(std::string(e.what()).find("AUTH"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("guess"), std::string::npos) << e.what();
    }
    EXPECT_LT(clock_type::now() - t0, milliseconds(400)) << "the refusal was retried";
}

TEST(RedisUnavailable, GivesUpWithAClearErrorAfterRetrying) {
    redis_options r;
    r.port = test::free_tcp_port();
    r.retry_for = milliseconds(500);
    job_queue q(r);
    const auto start = clock_type::now();
    try {
        q.counts("p");
        FAIL() << "a command succeeded without Redis";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::redis_unavailable);
        EXPECT_NE(std::string(e.what()).find("unavailable for 500 ms"), std::string::npos)
            << e.what();
    }
    EXPECT_GE(clock_type::now() - start, milliseconds(300));
}

} // namespace
} // namespace rotor::queue

// The worker's job loop end to end: Redis, the fixture shop, a real Chromium pool.
#include "catalog.hpp"
#include "nodes/batch_runner.hpp"
#include "redis_server.hpp"
#include "shop_server.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace rotor::nodes {
namespace {

using std::chrono::milliseconds;

class BatchRunnerTest : public ::testing::Test {
  protected:
    queue::redis_options redis() const {
        queue::redis_options r;
        r.port = redis_.port();
        return r;
    }
    pool::pool_options pool_options() const {
        pool::pool_options o;
        o.concurrency = 3;
        o.browser.launch.profile_root = profiles_.path();
        return o;
    }
    runner_options runner(const std::string& id) const {
        runner_options r;
        r.platform = "fixture";
        r.worker_id = id;
        r.scan.base_url = shop_.base_url();
        r.scan.ready_timeout = milliseconds(1500);
        r.idle_wait = milliseconds(100);
        r.drain = true;
        return r;
    }
    test::redis_server redis_;
    fixture::shop_server shop_;
    test::temp_dir profiles_{"rotor-runner"};
};

TEST_F(BatchRunnerTest, EveryItemIsDoneOrRecordedAsFailed) {
    queue::queue_options qo;
    qo.batch_size = 10;
    queue::job_queue q(redis(), qo);
    queue::enqueue_request req;
    req.platform = "fixture";
    for (int i = 0; i < 17; ++i) req.items.push_back(std::to_string(5000 + i));
    req.items.insert(req.items.end(), {"404001", "500001", "705001"});
    const auto group = q.enqueue(req).group_id;

    pool::browser_pool p(pool_options());
    qo.lease = milliseconds(900); // renewed (and a heartbeat sent) every 300 ms
    batch_runner run(p, redis(), qo, runner("w1"));
    // While a job runs, the registry hears of the worker and of the job it runs.
    std::atomic<bool> done{false};
    std::string job_seen;
    std::thread sampler([&] {
        queue::job_queue sq(redis(), qo);
        while (!done && job_seen.empty()) {
            const auto b = sq.command({"HGET", qo.prefix + "workers", "w1"});
            if (!b.is_nil()) job_seen = nlohmann::json::parse(b.as_string()).value("job", "");
            std::this_thread::sleep_for(milliseconds(50));
        }
    });
    run.run();
    done = true;
    sampler.join();
    EXPECT_EQ(job_seen.rfind(group, 0), 0u) << "no heartbeat named the running job";
    const auto registry = q.workers();
    ASSERT_EQ(registry.size(), 1u);
    EXPECT_EQ(registry[0].id, "w1");
    EXPECT_GT(registry[0].last_seen_ms, 0);
    const auto s = run.stats();
    EXPECT_EQ(s.items_ok, 17u);
    EXPECT_EQ(s.items_failed, 3u);
    EXPECT_EQ(s.jobs_completed, 2u);
    const auto beat = q.command({"HGET", qo.prefix + "workers", "w1"});
    ASSERT_FALSE(beat.is_nil()) << "the worker registered no heartbeat";
    const auto heartbeat = nlohmann::json::parse(beat.as_string());
    EXPECT_EQ(heartbeat["platform"], "fixture");
    // The pool's health and its shm decision go out with every heartbeat (for the restarter).
    EXPECT_EQ(heartbeat["pool"]["healthy"], true);
    EXPECT_NE(heartbeat["pool"]["shm"].get<std::string>().find("shm"), std::string::npos);
    EXPECT_EQ(heartbeat["pool"]["browsers"], 1);
    const auto g = q.progress(group);
    EXPECT_EQ(g.completed, 2);
    EXPECT_DOUBLE_EQ(g.progress, 100.0);
    std::size_t stored = 0;
    std::vector<std::string> failed;
    for (int j = 0; j < 2; ++j) {
        const std::string id = group + "-" + std::to_string(j);
        const auto results = q.command({"HGETALL", qo.prefix + "results:" + id});
        for (std::size_t i = 1; i < results.elements.size(); i += 2) {
            const auto v = nlohmann::json::parse(results.elements[i].as_string());
            const auto product = fixture::product_for(std::stoull(v["item"].get<std::string>()));
            EXPECT_EQ(v["name"], product.name);
            EXPECT_EQ(v["price"], product.price);
            ++stored;
        }
        for (const auto& f : q.failures(id)) failed.push_back(f.item + ": " + f.error);
    }
    EXPECT_EQ(stored, 17u);
    ASSERT_EQ(failed.size(), 3u);
    std::sort(failed.begin(), failed.end());
    EXPECT_NE(failed[0].find("404001: HTTP 404"), std::string::npos) << failed[0];
    EXPECT_NE(failed[1].find("500001: HTTP 500"), std::string::npos) << failed[1];
    EXPECT_NE(failed[2].find("705001: the data never appeared"), std::string::npos) << failed[2];
}

TEST_F(BatchRunnerTest, AJobWhoseItemsCannotBeRecordedFailsInsteadOfCompleting) {
    queue::queue_options qo;
    qo.batch_size = 6;
    qo.max_attempts = 1;
    queue::job_queue q(redis(), qo);
    queue::enqueue_request req;
    req.platform = "fixture";
    for (int i = 0; i < 6; ++i) req.items.push_back(std::to_string(7000 + i));
    const auto enq = q.enqueue(req);
    // The results key has the wrong type: every item scans fine, and storing it fails.
    q.command({"SET", qo.prefix + "results:" + enq.job_ids[0], "not a hash"});

    pool::browser_pool p(pool_options());
    batch_runner run(p, redis(), qo, runner("w"));
    run.run();
    EXPECT_EQ(run.stats().jobs_completed, 0u) << "items neither stored nor failed, job done";
    EXPECT_EQ(run.stats().jobs_failed, 1u);
    const auto fields = q.job_fields(enq.job_ids[0]);
    EXPECT_EQ(fields.at("status"), "dead");
    EXPECT_NE(fields.at("last_error").find("WRONGTYPE"), std::string::npos)
        << fields.at("last_error");
    const auto g = q.progress(enq.group_id);
    EXPECT_EQ(g.completed, 0);
    EXPECT_EQ(g.failed, 1);
}

TEST_F(BatchRunnerTest, AStoppedWorkerLeavesTheRegistry) {
    queue::queue_options qo;
    queue::job_queue q(redis(), qo);
    pool::browser_pool p(pool_options());
    auto options = runner("leaving");
    options.drain = false; // an idle worker waits for jobs until it is stopped
    batch_runner run(p, redis(), qo, options);
    std::thread worker([&] { run.run(); });
    for (int i = 0; i < 100 && q.workers().empty(); ++i)
        std::this_thread::sleep_for(milliseconds(50));
    ASSERT_EQ(q.workers().size(), 1u) << "the idle worker sent no heartbeat";
    run.stop();
    worker.join();
    EXPECT_TRUE(q.workers().empty()) << "a stopped worker stayed in the registry";
}

TEST_F(BatchRunnerTest, AStoppedWorkersJobIsReleasedAndResumedAtOnceFromItsCheckpoint) {
    queue::queue_options qo;
    qo.batch_size = 40;
    qo.lease = std::chrono::seconds(60); // a job left running would wait a minute: released
                                         // jobs do not
    queue::job_queue q(redis(), qo);
    queue::enqueue_request req;
    req.platform = "fixture";
    for (int i = 0; i < 40; ++i) req.items.push_back(std::to_string(6000 + i));
    const auto group = q.enqueue(req).group_id;
    const std::string job = group + "-0";

    pool::browser_pool p(pool_options());
    {
        // The first worker stops (as on SIGTERM) after some items: the items in flight end, the
        // job goes back to its queue with its checkpoint.
        batch_runner first(p, redis(), qo, runner("first"));
        std::thread stopper([&] {
            while (first.stats().items_ok < 12) std::this_thread::sleep_for(milliseconds(20));
            first.stop();
        });
        first.run_one();
        stopper.join();
        EXPECT_LT(first.stats().items_ok, 40u);
        EXPECT_EQ(first.stats().jobs_completed, 0u);
        EXPECT_EQ(first.stats().jobs_released, 1u);
    }
    const auto cp = q.load_checkpoint(job, "scan");
    const auto done_before = cp.done_count();
    EXPECT_GE(done_before, 12u);
    EXPECT_EQ(q.job_fields(job).at("status"), "queued");
    EXPECT_EQ(q.job_fields(job).at("stalled"), "0");

    // The second worker takes it at once and does only what is left.
    const auto started = std::chrono::steady_clock::now();
    batch_runner second(p, redis(), qo, runner("second"));
    second.run();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(45));
    EXPECT_EQ(q.job_fields(job).at("stalled"), "0");
    EXPECT_EQ(second.stats().items_skipped, done_before);
    EXPECT_EQ(second.stats().items_ok, 40u - done_before);
    EXPECT_EQ(q.job_fields(job).at("status"), "done");
    EXPECT_EQ(q.command({"HLEN", qo.prefix + "results:" + job}).as_integer(), 40);
    EXPECT_EQ(q.progress(group).completed, 1);
}

// Redis away for longer than the connection's retry window while items end: they wait for
// Redis instead of failing the job. Before, the first item to end in the outage failed the job
// (an attempt), and with Redis still away the failure itself failed, the job was dropped and
// reaped as a stall once the outage hold ran out.
TEST_F(BatchRunnerTest, AnOutageLongerThanTheRetryWindowMidJobCostsNoAttemptAndNoStall) {
    queue::queue_options qo;
    qo.batch_size = 12;
    qo.lease = milliseconds(2000);
    qo.outage_gap = milliseconds(500);
    queue::job_queue q(redis(), qo);
    queue::enqueue_request req;
    req.platform = "fixture";
    for (int i = 0; i < 12; ++i) req.items.push_back(std::to_string(8000 + i));
    const auto enq = q.enqueue(req);

    pool::browser_pool p(pool_options());
    auto r = redis();
    // A command unanswered for 500 ms is retried, and the connection gives up after 300 ms of
    // retrying: long before Redis is back.
    r.command_timeout = milliseconds(500);
    r.connect_timeout = milliseconds(500);
    r.retry_for = milliseconds(300);
    batch_runner run(p, r, qo, runner("w"));
    std::thread outage([&] {
        while (run.stats().items_ok < 2) std::this_thread::sleep_for(milliseconds(10));
        redis_.pause();
        std::this_thread::sleep_for(milliseconds(3000)); // longer than a lease
        redis_.resume();
    });
    run.run();
    outage.join();
    const auto fields = q.job_fields(enq.job_ids[0]);
    EXPECT_EQ(fields.at("status"), "done");
    EXPECT_EQ(fields.at("attempts"), "0");
    EXPECT_EQ(fields.at("stalled"), "0");
    EXPECT_EQ(run.stats().jobs_failed, 0u);
    EXPECT_EQ(q.command({"HLEN", qo.prefix + "results:" + enq.job_ids[0]}).as_integer(), 12);
}

} // namespace
} // namespace rotor::nodes

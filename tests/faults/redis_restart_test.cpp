// Redis killed with SIGKILL mid-run and started again on the same port (AOF, appendfsync always):
// workers wait, reconnect, and every job ends done; none is lost.
#include "queue/job_queue.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace rotor::queue {
namespace {

using std::chrono::milliseconds;

TEST(RedisRestart, KillingRedisMidRunLosesNoJob) {
    test::redis_server_options with_aof;
    with_aof.aof = true;
    test::redis_server server(with_aof);
    redis_options r;
    r.port = server.port();
    r.retry_for = milliseconds(30000);
    queue_options o;
    o.batch_size = 1;
    o.lease = milliseconds(1500); // a lease nobody heard of (a resend raced it) is reaped soon
    constexpr int jobs = 200;
    std::vector<std::string> ids;
    {
        job_queue q(r, o);
        enqueue_request req;
        req.platform = "p";
        for (int i = 0; i < jobs; ++i) req.items.push_back(std::to_string(i));
        ids = q.enqueue(req).job_ids;
    }
    std::atomic<int> completed{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    // Whatever happens below (a failed assertion, an exception), the workers stop and are joined.
    struct joiner {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~joiner() {
            stop = true;
            for (auto& t : threads) {
                if (t.joinable()) t.join();
            }
        }
    } join_on_exit{stop, workers};
    for (int w = 0; w < 4; ++w) {
        workers.emplace_back([&, w] {
            job_queue q(r, o);
            while (!stop) {
                try {
                    q.reap_stalled("p");
                    auto job = q.claim("p", "w" + std::to_string(w));
                    if (!job) {
                        std::this_thread::sleep_for(milliseconds(50));
                        continue;
                    }
                    std::this_thread::sleep_for(milliseconds(5)); // the work
                    q.checkpoint(*job, "scan", 0, 1);
                    q.complete(*job);
                    ++completed;
                } catch (const error& e) {
                    // lease_lost after a restart: the job was reaped and someone else has it.
                    if (e.kind() == errc::redis_unavailable) ADD_FAILURE() << e.what();
                } catch (const std::exception& e) {
                    ADD_FAILURE() << "worker " << w << ": " << e.what();
                    return;
                }
            }
        });
    }
    const auto warm = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (completed < 50 && std::chrono::steady_clock::now() < warm) {
        std::this_thread::sleep_for(milliseconds(10));
    }
    ASSERT_GE(completed.load(), 50) << "workers did not get going before the kill";
    server.kill();
    std::this_thread::sleep_for(milliseconds(800)); // workers see the outage and wait
    server.start();

    job_queue check(r, o);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int done = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        done = 0;
        for (const auto& id : ids) {
            const auto f = check.job_fields(id);
            if (f.count("status") && f.at("status") == "done") ++done;
        }
        if (done == jobs) break;
        std::this_thread::sleep_for(milliseconds(200));
    }
    stop = true;
    for (auto& t : workers) t.join();
    EXPECT_EQ(done, jobs) << "jobs lost or stuck after the restart";
    for (const auto& id : ids) {
        ASSERT_FALSE(check.job_fields(id).empty()) << id << " vanished";
    }
    const auto c = check.counts("p");
    EXPECT_EQ(c.queued + c.running + c.delayed + c.dead, 0);
}

} // namespace
} // namespace rotor::queue

// How the worker binary stops, against a real redis-server, the fixture shop and Chromium:
// SIGTERM releases the job so the next worker finishes it at once (no stall, nothing saved twice
// beyond the items in flight); a stop that cannot end within --grace, or a second signal, gives
// the job back and exits at once with Chromium gone; the grace holds while Redis hangs; a Redis
// that cannot be reached at start is said and the worker exits within its wait.
#include "child_process.hpp"
#include "queue/job_queue.hpp"
#include "redis_server.hpp"
#include "shop_server.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class WorkerStopTest : public ::testing::Test {
  protected:
    pid_t start_worker(const std::string& id, const std::string& platform,
                       const std::vector<std::string>& extra) {
        std::vector<std::string> args = {
            "--platform",       platform,
            "--config-dir",     std::string(ROTOR_SOURCE_DIR) + "/config/platforms",
            "--redis-port",     std::to_string(redis_.port()),
            "--worker-id",      id,
            "--heartbeat-port", "0"};
        args.insert(args.end(), extra.begin(), extra.end());
        rotor::test::child_options o;
        o.env = {"ROTOR_SHOP_URL=" + shop_.base_url(), "ROTOR_RESULTS_DIR=" + results_dir(),
                 "TMPDIR=" + profiles_.path().string()};
        o.drop_env = {"ROTOR_", "HEARTBEAT_", "TMPDIR="};
        o.stderr_file = err_file(id);
        o.quiet_stdout = true;
        const pid_t pid = rotor::test::spawn_child(WORKER, args, o);
        EXPECT_GT(pid, 0);
        return pid;
    }
    /// A worker pointed at a port where no Redis listens, waiting `wait_ms` for it.
    pid_t start_without_redis(const std::string& id, const std::string& wait_ms) {
        rotor::test::child_options o;
        o.drop_env = {"ROTOR_", "HEARTBEAT_"};
        o.stderr_file = err_file(id);
        o.quiet_stdout = true;
        return rotor::test::spawn_child(WORKER,
                                        {"--platform", "demo-api", "--config-dir",
                                         std::string(ROTOR_SOURCE_DIR) + "/config/platforms",
                                         "--redis-port",
                                         std::to_string(rotor::test::free_tcp_port()),
                                         "--redis-wait-ms", wait_ms, "--heartbeat-port", "0"},
                                        o);
    }
    std::string err_file(const std::string& id) const {
        return (results_.path() / (id + ".stderr")).string();
    }
    std::string results_dir() const { return (results_.path() / "out").string(); }
    std::vector<nlohmann::json> saved() const {
        std::vector<nlohmann::json> out;
        if (!std::filesystem::exists(results_dir())) return out;
        for (const auto& f : std::filesystem::directory_iterator(results_dir())) {
            std::ifstream in(f.path());
            for (std::string line; std::getline(in, line);) {
                auto j = nlohmann::json::parse(line, nullptr, false);
                if (!j.is_discarded()) out.push_back(std::move(j));
            }
        }
        return out;
    }
    rotor::queue::job_queue& queue() {
        if (!queue_) {
            rotor::queue::redis_options r;
            r.port = redis_.port();
            r.retry_for = seconds(20);
            queue_ = std::make_unique<rotor::queue::job_queue>(r, rotor::queue::queue_options{});
        }
        return *queue_;
    }
    std::string enqueue(const std::string& platform, const std::vector<std::string>& items) {
        rotor::queue::enqueue_request req;
        req.platform = platform;
        req.items = items;
        return queue().enqueue(req).job_ids.at(0);
    }
    std::string status_of(const std::string& job) { return queue().job_fields(job).at("status"); }
    /// Waits until the job is claimed (true), or 30 s.
    bool wait_running(const std::string& job) {
        const auto until = std::chrono::steady_clock::now() + seconds(30);
        while (std::chrono::steady_clock::now() < until) {
            if (status_of(job) == "running") return true;
            std::this_thread::sleep_for(milliseconds(20));
        }
        return false;
    }
    /// Chromium processes started for this test still alive after up to 3 s ("" when none):
    /// their pids and command lines.
    std::string chromium_left() const {
        const auto until = std::chrono::steady_clock::now() + seconds(3);
        auto left = rotor::test::processes_mentioning(profiles_.path().string());
        while (!left.empty() && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(milliseconds(50));
            left = rotor::test::processes_mentioning(profiles_.path().string());
        }
        std::string out;
        for (const auto pid : left) {
            std::string cmd = rotor::test::read_text("/proc/" + std::to_string(pid) + "/cmdline");
            for (auto& c : cmd) c = c == '\0' ? ' ' : c;
            out += std::to_string(pid) + ": " + cmd.substr(0, 300) + "\n";
        }
        return out;
    }

    rotor::test::redis_server redis_;
    rotor::fixture::shop_server shop_;
    rotor::test::temp_dir profiles_{"rotor-stop"};
    rotor::test::temp_dir results_{"rotor-stop-out"};
    std::unique_ptr<rotor::queue::job_queue> queue_;
};

TEST_F(WorkerStopTest, SigtermReleasesTheJobAndTheNextWorkerFinishesItAtOnce) {
    std::vector<std::string> items;
    for (int i = 0; i < 40; ++i) items.push_back(std::to_string(9100 + i));
    const auto job = enqueue("demo-shop", items);
    // A minute's lease: were the job not released, the next worker would wait it out.
    const std::vector<std::string> opts = {"--concurrency", "3", "--lease-ms", "60000"};
    const pid_t first = start_worker("first", "demo-shop", opts);
    const auto give_up = std::chrono::steady_clock::now() + seconds(90);
    while (saved().size() < 10 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(milliseconds(20));
    }
    ASSERT_GE(saved().size(), 10u) << rotor::test::read_text(err_file("first"));
    ::kill(first, SIGTERM);
    const auto stopped = rotor::test::wait_child(first, seconds(30));
    ASSERT_TRUE(stopped.exited) << rotor::test::read_text(err_file("first"));
    EXPECT_EQ(stopped.code, 0) << rotor::test::read_text(err_file("first"));
    EXPECT_LT(stopped.took, seconds(20)) << "the stop overran the default grace";
    ASSERT_LT(saved().size(), 40u) << "the first worker finished before the signal";
    EXPECT_EQ(status_of(job), "queued") << "a stopped worker's job goes back to its queue";
    EXPECT_EQ(chromium_left(), "") << "the browsers outlived the worker";

    const pid_t second = start_worker("second", "demo-shop", {"--concurrency", "3", "--drain"});
    const auto finished = rotor::test::wait_child(second, seconds(120));
    ASSERT_TRUE(finished.exited) << rotor::test::read_text(err_file("second"));
    EXPECT_EQ(finished.code, 0);
    EXPECT_LT(finished.took, seconds(50)) << "the next worker waited for the lease to expire";
    const auto fields = queue().job_fields(job);
    EXPECT_EQ(fields.at("status"), "done");
    EXPECT_EQ(fields.at("stalled"), "0") << "a graceful stop counted as a stall";

    std::map<std::string, int> lines_per_item;
    for (const auto& l : saved()) ++lines_per_item[l["item"].get<std::string>()];
    EXPECT_EQ(lines_per_item.size(), 40u) << "every item saved";
    int repeats = 0;
    for (const auto& [item, n] : lines_per_item) repeats += n - 1;
    // A graceful stop lets the items in flight end and records them: none is saved twice.
    EXPECT_EQ(repeats, 0) << "items saved twice after a graceful stop";
    EXPECT_EQ(queue()
                  .command({"HLEN", rotor::queue::queue_options{}.prefix + "results:" + job})
                  .as_integer(),
              40);
}

// Items that cannot end in the grace (701xxx: the page's `load` never fires, 15 s navigation
// timeout): the worker gives the job back, kills Chromium and exits 1 within the grace.
TEST_F(WorkerStopTest, AStopThatCannotEndInItsGraceGivesTheJobBackAndExitsInIt) {
    const auto job = enqueue("demo-shop", {"701001", "701002", "701003"});
    const pid_t pid = start_worker("hung", "demo-shop",
                                   {"--concurrency", "3", "--lease-ms", "60000", "--grace", "3"});
    ASSERT_TRUE(wait_running(job)) << rotor::test::read_text(err_file("hung"));
    std::this_thread::sleep_for(milliseconds(1500)); // the pages are loading
    ::kill(pid, SIGTERM);
    const auto r = rotor::test::wait_child(pid, seconds(20));
    const auto log = rotor::test::read_text(err_file("hung"));
    ASSERT_TRUE(r.exited) << log;
    EXPECT_EQ(r.code, 1) << log;
    EXPECT_LT(r.took, milliseconds(3500)) << log;
    EXPECT_NE(log.find("the grace of 3 s ran out"), std::string::npos) << log;
    EXPECT_EQ(status_of(job), "queued") << log;
    EXPECT_EQ(queue().job_fields(job).at("stalled"), "0");
    EXPECT_EQ(chromium_left(), "") << "Chromium outlived a forced exit";
}

TEST_F(WorkerStopTest, ASecondSignalExitsAtOnceWithTheJobGivenBack) {
    const auto job = enqueue("demo-shop", {"701004", "701005"});
    const pid_t pid = start_worker("twice", "demo-shop",
                                   {"--concurrency", "2", "--lease-ms", "60000", "--grace", "60"});
    ASSERT_TRUE(wait_running(job)) << rotor::test::read_text(err_file("twice"));
    std::this_thread::sleep_for(milliseconds(1000));
    ::kill(pid, SIGTERM);
    std::this_thread::sleep_for(milliseconds(300));
    ::kill(pid, SIGINT);
    const auto r = rotor::test::wait_child(pid, seconds(20));
    const auto log = rotor::test::read_text(err_file("twice"));
    ASSERT_TRUE(r.exited) << log;
    EXPECT_EQ(r.code, 1) << log;
    EXPECT_LT(r.took, milliseconds(2500)) << log;
    EXPECT_NE(log.find("a second signal"), std::string::npos) << log;
    EXPECT_EQ(status_of(job), "queued") << log;
    EXPECT_EQ(chromium_left(), "");
}

// Redis hangs (SIGSTOP) while the worker stops: the stop still ends within the grace (it used to
// retry leaving the worker registry for a minute), and once Redis is back another worker
// finishes the job with every item recorded.
TEST_F(WorkerStopTest, TheGraceHoldsWhileRedisHangs) {
    const auto job = enqueue("demo-api", {"700001", "700002", "700003", "8200", "8201"});
    const pid_t pid = start_worker("cut-off", "demo-api",
                                   {"--concurrency", "2", "--lease-ms", "3000", "--grace", "4"});
    ASSERT_TRUE(wait_running(job)) << rotor::test::read_text(err_file("cut-off"));
    redis_.pause();
    ::kill(pid, SIGTERM);
    const auto r = rotor::test::wait_child(pid, seconds(90));
    redis_.resume();
    const auto log = rotor::test::read_text(err_file("cut-off"));
    ASSERT_TRUE(r.exited) << log;
    EXPECT_TRUE(r.code == 0 || r.code == 1) << log;
    EXPECT_LT(r.took, milliseconds(4500)) << log;

    const pid_t next = start_worker("next", "demo-api", {"--lease-ms", "3000", "--drain"});
    const auto done = rotor::test::wait_child(next, seconds(60));
    ASSERT_TRUE(done.exited) << rotor::test::read_text(err_file("next"));
    EXPECT_EQ(done.code, 0);
    EXPECT_EQ(status_of(job), "done");
    EXPECT_EQ(queue()
                  .command({"HLEN", rotor::queue::queue_options{}.prefix + "results:" + job})
                  .as_integer(),
              5);
}

TEST_F(WorkerStopTest, ARedisThatCannotBeReachedAtStartIsSaidAndTheWaitHolds) {
    const pid_t pid = start_without_redis("no-redis", "1500");
    const auto r = rotor::test::wait_child(pid, seconds(30));
    const auto log = rotor::test::read_text(err_file("no-redis"));
    ASSERT_TRUE(r.exited) << log;
    EXPECT_EQ(r.code, 1) << log;
    EXPECT_GE(r.took, milliseconds(1000)) << "it did not wait for Redis: " << log;
    EXPECT_LT(r.took, milliseconds(6000)) << log;
    EXPECT_NE(log.find("cannot start"), std::string::npos) << log;
    EXPECT_NE(log.find("unavailable"), std::string::npos) << log;
}

// A signal while the worker still waits for Redis at start: nothing to give back, it exits 0 at
// once instead of waiting out --redis-wait-ms.
TEST_F(WorkerStopTest, ASignalBeforeServingExitsAtOnce) {
    const pid_t pid = start_without_redis("early", "60000");
    // Its first failed connect is logged once the signals are its own (they are blocked first).
    const auto logged = std::chrono::steady_clock::now() + seconds(20);
    while (rotor::test::read_text(err_file("early")).find("retrying") == std::string::npos &&
           std::chrono::steady_clock::now() < logged) {
        std::this_thread::sleep_for(milliseconds(20));
    }
    const auto t0 = std::chrono::steady_clock::now();
    ::kill(pid, SIGTERM);
    const auto r = rotor::test::wait_child(pid, seconds(30));
    const auto log = rotor::test::read_text(err_file("early"));
    ASSERT_TRUE(r.exited) << log;
    EXPECT_EQ(r.code, 0) << log;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3000)) << log;
    EXPECT_NE(log.find("before serving"), std::string::npos) << log;
}

} // namespace

// The heartbeat endpoint: the server on its own (routes, 404, 405, HEAD, limits), and a real
// worker binary's /healthz, /readyz and /metrics (read by Debian's python3-prometheus-client
// parser), /healthz turning 503 while a job makes no progress and 200 again after.
#include "app/heartbeat_server.hpp"
#include "child_process.hpp"
#include "http_client.hpp"
#include "queue/job_queue.hpp"
#include "redis_server.hpp"
#include "shop_server.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <thread>

extern char** environ;

namespace {

using rotor::app::heartbeat_options;
using rotor::app::heartbeat_routes;
using rotor::app::heartbeat_server;
using rotor::app::http_answer;
using std::chrono::milliseconds;

std::string raw_request(unsigned short port, const std::string& text) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return "";
    }
    (void)!::write(fd, text.data(), text.size());
    std::string out;
    char buf[4096];
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

TEST(HeartbeatServer, AnswersItsRoutesAndRefusesTheRest) {
    heartbeat_options o;
    o.port = 0;
    heartbeat_routes r;
    r.healthz = [] { return http_answer{200, "application/json", R"({"status":"ok"})"}; };
    r.readyz = [] { return http_answer{503, "application/json", R"({"ready":false})"}; };
    r.metrics = [] { return http_answer{200, "text/plain", "rotor_up 1\n"}; };
    heartbeat_server s(o, r);
    const std::string base = "http://127.0.0.1:" + std::to_string(s.port());
    auto h = rotor::test::http_get(base + "/healthz");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.body, R"({"status":"ok"})");
    EXPECT_EQ(rotor::test::http_get(base + "/readyz").status, 503);
    EXPECT_EQ(rotor::test::http_get(base + "/metrics").body, "rotor_up 1\n");
    EXPECT_EQ(rotor::test::http_get(base + "/").status, 404);
    const auto dotted = raw_request(
        s.port(), "GET /healthz/../metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(dotted.rfind("HTTP/1.1 404", 0), 0u) << dotted;
    const auto post = rotor::test::http_post(base + "/healthz", "{}");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.headers.count("allow") ? post.headers.at("allow") : "", "GET, HEAD");
    const auto head =
        raw_request(s.port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
    EXPECT_EQ(head.find("status"), std::string::npos) << "HEAD has no body: " << head;
    const std::string huge =
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'a') + "\r\n\r\n";
    EXPECT_EQ(raw_request(s.port(), huge).rfind("HTTP/1.1 413", 0), 0u)
        << "an oversized request was served";
    // A request that never finishes is cut at request_timeout (5 s) and the server goes on.
    EXPECT_EQ(rotor::test::http_get(base + "/healthz").status, 200);
}

TEST(HeartbeatServer, ABusyPortIsAClearError) {
    heartbeat_options o;
    o.port = 0;
    heartbeat_server first(o, {});
    o.port = first.port();
    try {
        heartbeat_server second(o, {});
        FAIL() << "two servers on one port";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(
            std::string(e.what()).find("cannot listen on 127.0.0.1:" + std::to_string(o.port)),
            std::string::npos)
            << e.what();
    }
}

class WorkerHeartbeatTest : public ::testing::Test {
  protected:
    pid_t start_worker(const std::vector<std::string>& extra,
                       const std::string& platform = "demo-api",
                       const std::string& config_dir = std::string(ROTOR_SOURCE_DIR) +
                                                       "/config/platforms") {
        std::vector<std::string> args = {WORKER,
                                         "--platform",
                                         platform,
                                         "--config-dir",
                                         config_dir,
                                         "--redis-port",
                                         std::to_string(redis_.port()),
                                         "--heartbeat-port",
                                         "0",
                                         "--heartbeat-port-file",
                                         port_file_};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<std::string> env = {"ROTOR_SHOP_URL=" + shop_.base_url(),
                                        "ROTOR_RESULTS_DIR=" + (out_.path() / "out").string(),
                                        "ROTOR_CONCURRENCY=1"};
        for (char** e = environ; *e != nullptr; ++e) {
            const std::string v = *e;
            if (v.rfind("ROTOR_", 0) != 0 && v.rfind("HEARTBEAT_", 0) != 0) env.push_back(v);
        }
        std::vector<char*> argv, envp;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (auto& e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        pid_t pid = -1;
        EXPECT_EQ(::posix_spawn(&pid, WORKER, nullptr, nullptr, argv.data(), envp.data()), 0);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < until) {
            std::ifstream in(port_file_);
            int port = 0;
            if (in >> port && port > 0) {
                base_ = "http://127.0.0.1:" + std::to_string(port);
                break;
            }
            std::this_thread::sleep_for(milliseconds(50));
        }
        worker_ = pid;
        return pid;
    }
    // A worker a failed assertion left running is stopped (SIGTERM: it closes its Chromium),
    // killed if it is still there after its grace, and reaped. A test that reaped it already
    // leaves nothing to do here.
    void TearDown() override {
        if (worker_ <= 0 || ::waitpid(worker_, nullptr, WNOHANG) != 0) return;
        ::kill(worker_, SIGTERM);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(25);
        while (::waitpid(worker_, nullptr, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() >= until) {
                ::kill(worker_, SIGKILL);
                ::waitpid(worker_, nullptr, 0);
                return;
            }
            std::this_thread::sleep_for(milliseconds(50));
        }
    }
    // Enqueues `items` for `platform` as one job; its id.
    std::string enqueue(const std::string& platform, std::vector<std::string> items) {
        rotor::queue::enqueue_request req;
        req.platform = platform;
        req.items = std::move(items);
        return queue().enqueue(req).job_ids.at(0);
    }
    rotor::queue::job_queue& queue() {
        if (!queue_) {
            rotor::queue::redis_options r;
            r.port = redis_.port();
            queue_ = std::make_unique<rotor::queue::job_queue>(r, rotor::queue::queue_options{});
        }
        return *queue_;
    }
    pid_t worker_ = -1;
    std::unique_ptr<rotor::queue::job_queue> queue_;
    std::string base_;
    rotor::test::redis_server redis_;
    rotor::fixture::shop_server shop_;
    rotor::test::temp_dir out_{"rotor-heartbeat"};
    std::string port_file_ = (out_.path() / "heartbeat.port").string();
};

TEST_F(WorkerHeartbeatTest, HealthReadinessAndMetricsOfARealWorker) {
    const pid_t pid = start_worker({});
    ASSERT_FALSE(base_.empty()) << "the worker never said its heartbeat port";
    const auto h = rotor::test::http_get(base_ + "/healthz");
    ASSERT_EQ(h.status, 200) << h.body;
    const auto health = nlohmann::json::parse(h.body);
    EXPECT_EQ(health["platform"], "demo-api");
    EXPECT_EQ(health["job"], "") << "idle on an empty queue is healthy";
    EXPECT_EQ(rotor::test::http_get(base_ + "/readyz").status, 200);

    enqueue("demo-api", {"8100", "8101", "404001"});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string text;
    while (std::chrono::steady_clock::now() < until) {
        text = rotor::test::http_get(base_ + "/metrics").body;
        if (text.find("outcome=\"gone\"} 1") != std::string::npos) break;
        std::this_thread::sleep_for(milliseconds(100));
    }
    EXPECT_NE(text.find("rotor_items_total{platform=\"demo-api\",outcome=\"ok\"} 2"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("rotor_item_duration_seconds_count{platform=\"demo-api\"} 3"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("rotor_item_duration_seconds_bucket{platform=\"demo-api\",le=\"+Inf\"} 3"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("rotor_jobs_claimed_total{platform=\"demo-api\"} 1"), std::string::npos)
        << text;
    // Debian's prometheus_client parser reads the whole exposition (it throws on bad syntax).
    const std::string file = (out_.path() / "metrics.txt").string();
    std::ofstream(file) << text;
    const std::string cmd =
        "/usr/bin/python3 -c \"import sys; from prometheus_client.parser import "
        "text_string_to_metric_families as p; fams = list(p(open(sys.argv[1]).read())); "
        "names = {f.name for f in fams}; "
        "want = {'rotor_items', 'rotor_item_duration_seconds', 'rotor_jobs_claimed', "
        "'rotor_queue_jobs', 'rotor_redis_reconnects', 'rotor_rate_limit_waits'}; "
        "assert want <= names, want - names; "
        "print(len(fams))\" " +
        file + " 2>&1";
    FILE* py = ::popen(cmd.c_str(), "r");
    ASSERT_NE(py, nullptr);
    char buf[512] = {0};
    std::string out;
    while (std::fgets(buf, sizeof buf, py) != nullptr) out += buf;
    EXPECT_EQ(::pclose(py), 0) << out << "\n" << text;
    EXPECT_GE(std::atoi(out.c_str()), 8) << out;

    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

// A job whose items take longer than stall_timeout to end: /healthz says 503 with the reason
// while it is stuck, and 200 once the worker is idle again.
TEST_F(WorkerHeartbeatTest, HealthzTurns503WhileAJobMakesNoProgress) {
    const pid_t pid = start_worker({"--stall-timeout-s", "1"});
    ASSERT_FALSE(base_.empty());
    auto& q = queue();
    const auto job = enqueue("demo-api", {"700001", "700004"}); // each answers after 3 s
    bool saw_stall = false;
    bool saw_recovery = false; // a 200 between the items: an item ending resets the clock
    std::string reason;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
        const auto h = rotor::test::http_get(base_ + "/healthz");
        const bool done = q.job_fields(job).at("status") == "done";
        if (h.status == 503) {
            saw_stall = true;
            const auto body = nlohmann::json::parse(h.body);
            reason = body.value("reason", "");
            EXPECT_EQ(body["job_items"]["total"], 2) << h.body;
        } else if (h.status == 200 && saw_stall && !done) {
            saw_recovery = true;
        }
        if (done) break;
        std::this_thread::sleep_for(milliseconds(200));
    }
    EXPECT_TRUE(saw_stall) << "never 503 while no item ended for 3 s";
    EXPECT_TRUE(saw_recovery) << "the first item's end did not count as progress";
    EXPECT_NE(reason.find("stalled: no item of job " + job), std::string::npos) << reason;
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_EQ(rotor::test::http_get(base_ + "/healthz").status, 200) << "still unhealthy when idle";
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// The same on a browser platform whose page never finishes (the shop's /hang/ route never
// answers): /healthz is 503 while the navigation hangs, the item then fails with the navigation
// timeout as its reason, and /healthz is 200 again once the worker is idle.
TEST_F(WorkerHeartbeatTest, HealthzTurns503WhileABrowserPageNeverFinishes) {
    const auto dir = out_.path() / "platforms";
    std::filesystem::create_directories(dir);
    std::ifstream in(std::string(ROTOR_SOURCE_DIR) + "/config/platforms/demo-shop.yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto replace = [&](const std::string& from, const std::string& to) {
        const auto at = yaml.find(from);
        ASSERT_NE(at, std::string::npos) << "demo-shop.yaml no longer has " << from;
        yaml.replace(at, from.size(), to);
    };
    replace("/product/{id}", "/hang/{id}");
    replace("navigation_ms: 15000", "navigation_ms: 3000");
    replace("retries: 2", "retries: 1");
    if (HasFatalFailure()) return; // demo-shop.yaml changed: this would scrape real pages
    std::ofstream(dir / "demo-shop.yaml") << yaml;
    const pid_t pid = start_worker({"--stall-timeout-s", "1"}, "demo-shop", dir.string());
    ASSERT_FALSE(base_.empty());
    auto& q = queue();
    const auto job = enqueue("demo-shop", {"1"});
    bool saw_stall = false;
    std::string reason;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < until) {
        const auto h = rotor::test::http_get(base_ + "/healthz");
        done = q.job_fields(job).at("status") == "done";
        if (h.status == 503 && !done) {
            saw_stall = true;
            reason = nlohmann::json::parse(h.body).value("reason", "");
        }
        std::this_thread::sleep_for(milliseconds(200));
    }
    ASSERT_TRUE(done) << "the job never ended";
    EXPECT_TRUE(saw_stall) << "never 503 while the page hung";
    EXPECT_NE(reason.find("stalled: no item of job " + job), std::string::npos) << reason;
    const auto failures = q.failures(job);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_NE(failures.front().error.find("timeout"), std::string::npos) << failures.front().error;
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_EQ(rotor::test::http_get(base_ + "/healthz").status, 200) << "still unhealthy when idle";
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// Runs the worker to its end with `args` (stderr to a file); its exit code.
int run_worker(const std::vector<std::string>& args, const std::string& err_file,
               const std::vector<std::string>& env_extra = {}) {
    rotor::test::child_options o;
    o.env = env_extra;
    o.drop_env = {"ROTOR_", "HEARTBEAT_"};
    o.stderr_file = err_file;
    o.quiet_stdout = true;
    const pid_t pid = rotor::test::spawn_child(WORKER, args, o);
    if (pid < 0) return -1;
    const auto r = rotor::test::wait_child(pid, std::chrono::seconds(120));
    return r.exited ? r.code : -1;
}

std::string read_all(const std::string& file) {
    return rotor::test::read_text(file);
}

// Exit codes say what went wrong (2 usage, 3 config), --max-jobs stops after that many jobs,
// and --log-format json writes one JSON object per line.
TEST_F(WorkerHeartbeatTest, ExitCodesMaxJobsAndJsonLogs) {
    const std::string err = (out_.path() / "stderr.txt").string();
    const std::string dir = std::string(ROTOR_SOURCE_DIR) + "/config/platforms";
    EXPECT_EQ(run_worker({"--platform", "demo-api", "--concurrency", "999"}, err), 2);
    EXPECT_NE(read_all(err).find("--concurrency"), std::string::npos) << read_all(err);
    EXPECT_EQ(run_worker({"--platform", "demo-api", "--log-format", "yaml"}, err), 2);
    EXPECT_EQ(run_worker({"--platform"}, err), 2);
    EXPECT_EQ(run_worker({"--platform", "no-such-platform", "--config-dir", dir}, err), 3);
    EXPECT_NE(read_all(err).find("no-such-platform.yaml: no such file"), std::string::npos)
        << read_all(err);

    rotor::queue::redis_options r;
    r.port = redis_.port();
    rotor::queue::queue_options qo;
    qo.batch_size = 2;
    rotor::queue::job_queue q(r, qo);
    rotor::queue::enqueue_request req;
    req.platform = "demo-api";
    req.items = {"8200", "8201", "8202", "8203", "8204", "8205"}; // 3 jobs
    q.enqueue(req);
    EXPECT_EQ(run_worker({"--platform", "demo-api", "--config-dir", dir, "--redis-port",
                          std::to_string(redis_.port()), "--heartbeat-port", "0", "--max-jobs", "1",
                          "--log-format", "json", "--log-level", "debug", "--output-dir",
                          (out_.path() / "elsewhere").string()},
                         err, {"ROTOR_SHOP_URL=" + shop_.base_url()}),
              0);
    EXPECT_EQ(q.counts("demo-api").queued, 2) << "--max-jobs 1 ran more than one job";
    int lines = 0;
    int item_lines = 0;
    bool progress_line = false;
    bool memory_line = false;
    std::stringstream logs(read_all(err));
    for (std::string line; std::getline(logs, line);) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
        if (!j.is_discarded()) {
            EXPECT_TRUE(j.contains("level") && j.contains("msg")) << line;
            // Structured fields are members of the line, not text in its message.
            if (j.value("msg", "") == "item ended") {
                ++item_lines;
                EXPECT_TRUE(j.contains("job") && j.contains("index") && j.contains("item") &&
                            j.contains("duration_ms") && j.contains("outcome") &&
                            j.contains("batch"))
                    << line;
            }
            if (j.value("msg", "") == "job items all recorded") {
                progress_line = j.value("done", 0) == 2 && j.value("total", 0) == 2 &&
                                j.contains("items_per_s");
            }
            if (j.value("msg", "") == "memory") memory_line = j.contains("worker_rss_mb");
        }
        ++lines;
    }
    EXPECT_GE(lines, 2);
    EXPECT_EQ(item_lines, 2) << read_all(err);
    EXPECT_TRUE(progress_line) << "no progress line with done of total: " << read_all(err);
    EXPECT_TRUE(memory_line) << read_all(err);
    EXPECT_TRUE(std::filesystem::exists(out_.path() / "elsewhere")) << "--output-dir ignored";
}

} // namespace

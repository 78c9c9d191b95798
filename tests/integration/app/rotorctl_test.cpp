// rotorctl, the admin command line, run as a process against a real redis-server.
#include "catalog.hpp"
#include "queue/job_queue.hpp"
#include "redis_server.hpp"
#include "shop_server.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct run_result {
    int exit_code = -1;
    std::vector<nlohmann::json> lines; // stdout, one JSON object per line (with --json)
    std::string out;                   // stdout as it came
    std::string err;
};

class RotorctlTest : public ::testing::Test {
  protected:
    /// rotorctl with --json (scripts' output) unless `json` is false (stdout is a pipe: plain
    /// lines).
    run_result rotorctl(const std::string& args, bool json = true) {
        const std::string err_file = std::string(::testing::TempDir()) + "rotorctl-" +
                                     std::to_string(server_.port()) + ".err";
        const std::string cmd = std::string(ROTORCTL) + " --redis-port " +
                                std::to_string(server_.port()) + (json ? " --json " : " ") + args +
                                " 2>" + err_file;
        run_result r;
        FILE* pipe = ::popen(cmd.c_str(), "r");
        if (pipe == nullptr) return r;
        std::string out;
        std::array<char, 4096> buf{};
        while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
        const int status = ::pclose(pipe);
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        r.out = out;
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);) {
            r.lines.push_back(nlohmann::json::parse(line, nullptr, false));
        }
        if (FILE* f = std::fopen(err_file.c_str(), "r")) {
            while (std::fgets(buf.data(), buf.size(), f) != nullptr) r.err += buf.data();
            std::fclose(f);
        }
        return r;
    }
    rotor::queue::redis_options redis() const {
        rotor::queue::redis_options r;
        r.port = server_.port();
        return r;
    }
    rotor::test::redis_server server_;
};

TEST_F(RotorctlTest, EnqueuesAndReportsTheQueue) {
    auto r = rotorctl("enqueue --platform oliveyoung --range 1-120 --batch-size 50");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0]["jobs"], 3);
    EXPECT_EQ(r.lines[0]["items"], 120);
    const std::string group = r.lines[0]["group"];

    r = rotorctl("status --platform oliveyoung");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["queued"], 3);
    rotor::queue::job_queue q(redis(), {});
    // Results as the worker stores them: one ok item and one gone (404) item in the first job.
    q.command({"HSET", "workflow:results:" + group + "-0", "0", R"({"item":"1","price":5000})", "1",
               R"({"item":"2","gone":true,"status":404})"});
    r = rotorctl("group " + group);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["jobs"], 3);
    EXPECT_EQ(r.lines.at(0)["items_ok"], 1) << "a gone item is not counted as ok";
    EXPECT_EQ(r.lines.at(0)["items_gone"], 1);
    q.heartbeat("worker-a", {{"platform", "oliveyoung"}});
    r = rotorctl("workers");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0]["id"], "worker-a");
    EXPECT_EQ(r.lines[0]["status"]["platform"], "oliveyoung");
    EXPECT_LT(r.lines[0]["seen_ms_ago"].get<long>(), 60000);
    r = rotorctl("jobs --platform oliveyoung --state queued");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines.at(0)["id"], group + "-0");
}

TEST_F(RotorctlTest, BadInputIsAClearErrorAndAFailingExit) {
    auto r = rotorctl("enqueue --platform p --range 9-1");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;
    r = rotorctl("enqueue --platform p");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no items"), std::string::npos) << r.err;
    r = rotorctl("group no-such-group");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
    r = rotorctl("requeue");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("no job ids"), std::string::npos) << r.err;
}

TEST_F(RotorctlTest, TakesTheRedisUrlFromTheEnvironmentOrTheCommandLine) {
    rotor::queue::job_queue q(redis(), {});
    rotor::queue::enqueue_request req;
    req.platform = "p";
    req.items = {"1", "2"};
    q.enqueue(req);
    // The URL wins over --redis-port (which the helper passes): a wrong URL port must fail.
    auto r = rotorctl("--redis-wait-ms 200 --redis-url redis://127.0.0.1:1 status --platform p");
    EXPECT_EQ(r.exit_code, 1) << "the URL did not override --redis-port";
    ::setenv("ROTOR_REDIS_URL",
             ("redis://127.0.0.1:" + std::to_string(server_.port()) + "/0").c_str(), 1);
    r = rotorctl("status --platform p");
    ::unsetenv("ROTOR_REDIS_URL");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["queued"], 1);
    r = rotorctl("--redis-url http://nope status --platform p");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("expected redis://"), std::string::npos) << r.err;
}

TEST_F(RotorctlTest, ListsDeadJobsWithTheirReasonAndRequeuesThem) {
    rotor::queue::queue_options o;
    o.batch_size = 1;
    o.max_attempts = 1;
    rotor::queue::job_queue q(redis(), o);
    rotor::queue::enqueue_request req;
    req.platform = "kurly";
    req.items = {"1", "2", "3"};
    const auto enq = q.enqueue(req);
    for (int i = 0; i < 2; ++i) {
        auto job = q.claim("kurly", "w");
        ASSERT_TRUE(job);
        ASSERT_TRUE(q.fail(*job, "blocked (HTTP 429) " + std::to_string(i)).dead);
    }

    auto r = rotorctl("jobs --platform kurly --state dead");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 2u);
    EXPECT_EQ(r.lines[0]["last_error"], "blocked (HTTP 429) 0");
    EXPECT_EQ(r.lines[1]["last_error"], "blocked (HTTP 429) 1");

    r = rotorctl("requeue " + enq.job_ids[2]); // still queued: refused
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("only dead jobs"), std::string::npos) << r.err;

    r = rotorctl("requeue --platform kurly --all-dead");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.size(), 2u);
    EXPECT_EQ(q.counts("kurly").dead, 0);
    EXPECT_EQ(q.counts("kurly").queued, 3);
    EXPECT_EQ(q.progress(enq.group_id).failed, 0);
}

TEST_F(RotorctlTest, ListsAndCleansOldDeadJobs) {
    rotor::queue::queue_options o;
    o.batch_size = 1;
    o.max_attempts = 1;
    rotor::queue::job_queue q(redis(), o);
    const auto& k = q.key_names();
    std::vector<std::string> ids;
    for (const char* platform : {"kurly", "musinsa"}) {
        rotor::queue::enqueue_request req;
        req.platform = platform;
        req.items = {"1", "2"};
        for (const auto& id : q.enqueue(req).job_ids) ids.push_back(id);
        for (int i = 0; i < 2; ++i) {
            auto job = q.claim(platform, "w");
            ASSERT_TRUE(job);
            ASSERT_TRUE(q.fail(*job, std::string("blocked on ") + platform).dead);
        }
    }
    // kurly's first and musinsa's first died ten days ago.
    const auto t = q.command({"TIME"});
    const auto ten_days_ago = std::to_string(t.elements.at(0).as_integer() * 1000 - 864000000);
    q.command({"ZADD", k.dead("kurly"), "XX", ten_days_ago, ids[0]});
    q.command({"ZADD", k.dead("musinsa"), "XX", ten_days_ago, ids[2]});

    auto r = rotorctl("dead list");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 4u);
    EXPECT_EQ(r.lines[0]["platform"], "kurly");
    EXPECT_EQ(r.lines[0]["id"], ids[0]);
    EXPECT_EQ(r.lines[0]["last_error"], "blocked on kurly");
    EXPECT_EQ(r.lines[3]["platform"], "musinsa");

    r = rotorctl("dead clean --older-than 7d --platform kurly");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0]["removed"], 1);
    EXPECT_EQ(q.counts("kurly").dead, 1);
    EXPECT_EQ(q.counts("musinsa").dead, 2) << "--platform kurly cleaned musinsa";
    EXPECT_TRUE(q.job_fields(ids[0]).empty());

    r = rotorctl("dead clean --older-than 7d"); // every platform
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(q.counts("musinsa").dead, 1);
    EXPECT_EQ(rotorctl("dead list --platform musinsa").lines.size(), 1u);

    r = rotorctl("dead clean --older-than 7weeks");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("'7weeks'"), std::string::npos) << r.err;
    r = rotorctl("status --platform kurly");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["dead"], 1);
    EXPECT_EQ(r.lines.at(0)["stalled"], 0);
}

// A file is read whole before anything is written: a bad line stops the enqueue with nothing
// enqueued and the line named; --skip-bad-lines enqueues the rest; running it again with the key
// it printed adds nothing twice.
TEST_F(RotorctlTest, EnqueuesAFileCheckedWholeFirstAndResumableByItsKey) {
    rotor::test::temp_dir dir;
    const auto csv = (dir.path() / "products.csv").string();
    {
        std::ofstream f(csv);
        f << "product_id,name\n1001,\"Cream, 50ml\"\n1002,Toner\n\"\",Nothing\n1004,Serum\n";
    }
    auto r = rotorctl("enqueue --platform kurly --batch-size 2 --file " + csv);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("line 4: the id is empty"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was enqueued"), std::string::npos) << r.err;
    r = rotorctl("status --platform kurly");
    EXPECT_EQ(r.lines.at(0)["queued"], 0);

    r = rotorctl("enqueue --platform kurly --batch-size 2 --skip-bad-lines --file " + csv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0]["items"], 3);
    EXPECT_EQ(r.lines[0]["jobs"], 2);
    EXPECT_EQ(r.lines[0]["skipped"], 1);
    const std::string key = r.lines[0]["idempotency_key"];
    const std::string group = r.lines[0]["group"];
    ASSERT_FALSE(key.empty());

    r = rotorctl("enqueue --platform kurly --batch-size 2 --skip-bad-lines --idempotency-key " +
                 key + " --file " + csv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["replayed_chunks"], 1);
    EXPECT_EQ(r.lines.at(0)["group"], group);
    r = rotorctl("status --platform kurly");
    EXPECT_EQ(r.lines.at(0)["queued"], 2) << "the second run added nothing";
    rotor::queue::job_queue q(redis(), {});
    auto job = q.claim("kurly", "w");
    ASSERT_TRUE(job);
    EXPECT_EQ(job->items(), (std::vector<std::string>{"1001", "1002"}));
    ASSERT_NE(job->item_data(0), nullptr);
    EXPECT_EQ((*job->item_data(0))["name"], "Cream, 50ml");
    EXPECT_EQ(job->params["batch_total"], 2);
}

// Standard input is read once, as it comes: JSON lines told from their first line.
TEST_F(RotorctlTest, EnqueuesFromStandardInput) {
    rotor::test::temp_dir dir;
    const auto jsonl = (dir.path() / "items").string();
    {
        std::ofstream f(jsonl);
        for (int i = 0; i < 250; ++i) f << "{\"id\":\"" << i << "\",\"rank\":" << i << "}\n";
    }
    auto r = rotorctl("enqueue --platform ably --batch-size 100 --file - < " + jsonl);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["items"], 250);
    EXPECT_EQ(r.lines.at(0)["jobs"], 3);
    {
        std::ofstream f(jsonl, std::ios::app);
        f << "{\"no\":\"id\"}\n";
    }
    r = rotorctl("enqueue --platform ably --batch-size 50 --chunk-items 100 --file - < " + jsonl);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("line 251"), std::string::npos) << r.err;
    const auto at = r.err.find("--idempotency-key rotorctl-");
    ASSERT_NE(at, std::string::npos) << "says how to finish the run: " << r.err;
    const std::string key = r.err.substr(at + 18, 29);
    r = rotorctl("status --platform ably");
    EXPECT_EQ(r.lines.at(0)["queued"], 3 + 4) << "two chunks of two jobs went in before line 251";

    // The line fixed, the same key finishes the run: the chunks written are recognised.
    std::string fixed;
    {
        std::ifstream in(jsonl);
        for (std::string line; std::getline(in, line);) {
            fixed += (line == "{\"no\":\"id\"}" ? std::string("{\"id\":\"250\"}") : line) + "\n";
        }
    }
    {
        std::ofstream f(jsonl);
        f << fixed;
    }
    r = rotorctl("enqueue --platform ably --batch-size 50 --chunk-items 100 --idempotency-key " +
                 key + " --file - < " + jsonl);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["replayed_chunks"], 2);
    EXPECT_EQ(r.lines.at(0)["items"], 251);
    r = rotorctl("status --platform ably");
    EXPECT_EQ(r.lines.at(0)["queued"], 3 + 6) << "251 items in jobs of 50, none twice";
}

TEST_F(RotorctlTest, ConfigCheckReportsEveryFileAndEveryProblem) {
    rotor::test::temp_dir dir;
    std::filesystem::copy_file(std::string(ROTOR_SOURCE_DIR) + "/config/platforms/demo-shop.yaml",
                               dir.path() / "demo-shop.yaml");
    {
        std::ofstream f(dir.path() / "broken.yaml");
        f << "platform: broken\nworker_type: browser\nconcurrency: lots\nretires: 1\n";
    }
    auto r = rotorctl("config check --config-dir " + dir.path().string());
    EXPECT_EQ(r.exit_code, 1);
    ASSERT_EQ(r.lines.size(), 2u);
    EXPECT_EQ(r.lines[0]["platform"], nullptr);
    EXPECT_EQ(r.lines[0]["ok"], false);
    EXPECT_EQ(r.lines[1]["ok"], true);
    EXPECT_NE(r.err.find("broken.yaml:3:14: concurrency: 'lots' is not a whole number"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("broken.yaml:4:1: retires: unknown key"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("scan: missing"), std::string::npos) << r.err;
    std::filesystem::remove(dir.path() / "broken.yaml");
    EXPECT_EQ(rotorctl("config check --config-dir " + dir.path().string()).exit_code, 0);
}

// A probe refuses what a job must never reach before any browser starts, and scans an item of
// the fixture shop the way the worker would.
TEST_F(RotorctlTest, ProbeRefusesLocalAndOffListTargetsAndScansAnItem) {
    const std::string dir = std::string(ROTOR_SOURCE_DIR) + "/config/platforms";
    for (const std::string target : {"file:///etc/passwd", "http://169.254.169.254/latest",
                                     "chrome://version", "http://127.0.0.2:9/x", "../../__reset"}) {
        const auto started = std::chrono::steady_clock::now();
        auto r = rotorctl("probe --platform demo-shop --config-dir " + dir + " '" + target + "'");
        EXPECT_EQ(r.exit_code, 1) << target;
        ASSERT_EQ(r.lines.size(), 1u) << target << ": " << r.err;
        EXPECT_EQ(r.lines[0]["outcome"], "failed") << target;
        const std::string reason = r.lines[0]["reason"];
        EXPECT_TRUE(reason.rfind("refused: ", 0) == 0 || reason.rfind("malformed item", 0) == 0)
            << target << ": " << reason;
        EXPECT_EQ(r.err.find("pool:"), std::string::npos) << "a browser was started for " << target;
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    }
    rotor::fixture::shop_server shop;
    ::setenv("ROTOR_SHOP_URL", shop.base_url().c_str(), 1);
    auto r = rotorctl("probe --platform demo-shop --config-dir " + dir + " 1234");
    ::unsetenv("ROTOR_SHOP_URL");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 1u) << r.err;
    EXPECT_EQ(r.lines[0]["outcome"], "ok");
    EXPECT_EQ(r.lines[0]["fields"]["price"], rotor::fixture::product_for(1234).price);
    EXPECT_EQ(r.lines[0]["fields"]["name"], rotor::fixture::product_for(1234).name);
    EXPECT_EQ(shop.stats()["requests_by_route"]["product"], 1);
}

// A stored result whose "gone" is not a boolean (an older or foreign writer) is an ok item, not
// a crash of the report.
TEST_F(RotorctlTest, GroupReportReadsAnyStoredResult) {
    auto r = rotorctl("enqueue --platform p --items 1,2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string group = r.lines.at(0)["group"];
    rotor::queue::job_queue q(redis(), {});
    q.command({"HSET", "workflow:results:" + group + "-0", "0", R"({"item":"1","gone":"yes"})", "1",
               "not json"});
    r = rotorctl("group " + group);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["items_ok"], 2);
    EXPECT_EQ(r.lines.at(0)["items_gone"], 0);
}

// status: every platform's depths and workers, a group's items and rate; plain lines when
// piped; a pause stops claims (by any worker, through the claim script) until resume.
TEST_F(RotorctlTest, StatusPauseAndResume) {
    auto r = rotorctl("enqueue --platform kurly --range 1-30 --batch-size 10");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string group = r.lines.at(0)["group"];
    rotor::queue::job_queue q(redis(), {});
    q.heartbeat("w1", {{"platform", "kurly"}, {"items_ok", 4}});
    r = rotorctl("status --platform kurly --group " + group);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 2u) << r.out;
    EXPECT_EQ(r.lines[0]["platform"], "kurly");
    EXPECT_EQ(r.lines[0]["queued"], 3);
    EXPECT_EQ(r.lines[0]["workers"], 1);
    EXPECT_EQ(r.lines[0]["paused"], false);
    EXPECT_EQ(r.lines[1]["group"], group);
    EXPECT_EQ(r.lines[1]["items"], 30);
    EXPECT_EQ(r.lines[1]["items_done"], 0);

    // Without --platform: the configured platforms and every one Redis knows.
    r = rotorctl("status --config-dir " + std::string(ROTOR_SOURCE_DIR) + "/config/platforms");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> names;
    for (const auto& l : r.lines) names.insert(l.value("platform", ""));
    EXPECT_TRUE(names.count("kurly") && names.count("demo-shop") && names.count("oliveyoung"))
        << r.out;

    r = rotorctl("pause --platform kurly --reason maintenance");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(q.claim("kurly", "w1").has_value()) << "a paused platform's job was claimed";
    r = rotorctl("status --platform kurly", /*json=*/false);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("platform=kurly queued=3"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("paused=true paused_reason=maintenance"), std::string::npos) << r.out;
    r = rotorctl("resume --platform kurly");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["was_paused"], true);
    const auto job = q.claim("kurly", "w1");
    ASSERT_TRUE(job.has_value()) << "resume did not let claims through";

    // Progress: 10 items of the first job recorded, 2 of them failed.
    for (int i = 0; i < 8; ++i) {
        q.command({"HSET", "workflow:results:" + job->id, std::to_string(i), R"({"price":1})"});
    }
    q.command({"RPUSH", "workflow:failures:" + job->id,
               R"({"index":8,"item":"9","error":"timeout","timestamp":1})",
               R"({"index":9,"item":"10","error":"price missing","timestamp":2})"});
    r = rotorctl("status --platform kurly --group " + group + " --watch --interval 1 --updates 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 4u) << r.out;
    EXPECT_EQ(r.lines[3]["items_done"], 8);
    EXPECT_EQ(r.lines[3]["items_failed"], 2);
    EXPECT_NEAR(r.lines[3]["progress"].get<double>(), 33.3, 0.1);
    EXPECT_EQ(r.lines[2]["running"], 1);
}

// failures of a job or a group; retry-failed enqueues, once a group is finished, its failed
// items and the items its dead jobs never recorded, with the values they were enqueued with;
// asking about what does not exist is an error.
TEST_F(RotorctlTest, FailuresAndRetryFailed) {
    rotor::queue::job_queue q(redis(), {});
    rotor::test::temp_dir dir{"rotorctl-retry"};
    const auto file = (dir.path() / "items.jsonl").string();
    std::ofstream(file) << R"({"id":"a1","size":"L"})"
                        << "\n"
                        << R"({"id":"a2"})"
                        << "\n"
                        << R"({"id":"a3","size":"S"})"
                        << "\n";
    auto r = rotorctl("enqueue --platform ably --file " + file + " --batch-size 2");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string group = r.lines.at(0)["group"];
    // Job 0 (a1, a2): a1 failed, a2 saved, completed. Job 1 (a3): dead before recording it.
    q.command({"RPUSH", "workflow:failures:" + group + "-0",
               R"({"index":0,"item":"a1","error":"timeout","timestamp":1})"});
    q.command({"HSET", "workflow:results:" + group + "-0", "1", R"({"item":"a2","price":1})"});

    r = rotorctl("retry-failed --group " + group);
    EXPECT_EQ(r.exit_code, 1) << "a running group's failures were retried";
    EXPECT_NE(r.err.find("is not finished"), std::string::npos) << r.err;
    auto first = q.claim("ably", "w");
    auto second = q.claim("ably", "w");
    ASSERT_TRUE(first && second);
    ASSERT_EQ(first->id, group + "-0");
    q.complete(*first);
    q.dead_letter(*second, "poison");

    r = rotorctl("failures --group " + group);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.lines.size(), 1u) << r.out;
    EXPECT_EQ(r.lines[0]["item"], "a1");
    EXPECT_EQ(r.lines[0]["error"], "timeout");
    r = rotorctl("failures --job " + group + "-1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.lines.empty()) << r.out;

    r = rotorctl("failures no-such-job");
    EXPECT_EQ(r.exit_code, 1) << "no such job read as no failures";
    EXPECT_NE(r.err.find("job no-such-job does not exist"), std::string::npos) << r.err;
    r = rotorctl("failures --group no-such-group");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
    r = rotorctl("failures");
    EXPECT_EQ(r.exit_code, 2) << "neither --job nor --group is a usage error";
    r = rotorctl("retry-failed --group no-such-group");
    EXPECT_EQ(r.exit_code, 1);

    r = rotorctl("retry-failed --group " + group);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["failed_items"], 1);
    EXPECT_EQ(r.lines.at(0)["unrecorded_items"], 1) << "the dead job's item was left out";
    const std::string retry = r.lines[0]["new_group"];
    ASSERT_NE(retry, group);
    r = rotorctl("retry-failed --group " + group);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.lines.at(0)["new_group"], retry);
    EXPECT_EQ(r.lines.at(0)["replayed"], true) << "a second retry-failed added the items again";
    EXPECT_EQ(q.progress(retry).total, 1) << "2 items in batches of 50: one job";
    const auto lease = q.claim("ably", "w");
    ASSERT_TRUE(lease.has_value());
    ASSERT_EQ(lease->group_id, retry);
    EXPECT_EQ(lease->items(), (std::vector<std::string>{"a1", "a3"}));
    ASSERT_NE(lease->item_data(0), nullptr);
    EXPECT_EQ((*lease->item_data(0))["size"], "L") << "the retried item lost its values";
    ASSERT_NE(lease->item_data(1), nullptr);
    EXPECT_EQ((*lease->item_data(1))["size"], "S");
    EXPECT_FALSE(q.claim("ably", "w").has_value()) << "the items were enqueued twice";
}

TEST_F(RotorctlTest, OutOfRangeValuesExitTwoNamingTheOption) {
    auto r = rotorctl("--redis-port 70000 workers");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--redis-port"), std::string::npos) << r.err;
    r = rotorctl("enqueue --platform p --items 1 --batch-size 0");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--batch-size"), std::string::npos) << r.err;
    r = rotorctl("status --watch --interval 0");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--interval"), std::string::npos) << r.err;
    r = rotorctl("pause");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--platform"), std::string::npos) << r.err;
}

} // namespace

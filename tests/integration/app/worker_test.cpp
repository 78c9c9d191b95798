// The worker binary against a real redis-server, the fixture shop and Chromium: killed with
// SIGKILL mid-job and started again, it saves no item twice beyond those that were in flight;
// an API worker writing to PostgreSQL, killed and resumed, leaves one row per item.
#include "child_process.hpp"
#include "postgres_server.hpp"
#include "queue/job_queue.hpp"
#include "redis_server.hpp"
#include "shop_server.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace {

using std::chrono::milliseconds;

class WorkerTest : public ::testing::Test {
  protected:
    pid_t start_worker(const std::string& id, const std::string& platform = "demo-shop",
                       const std::string& config_dir = std::string(ROTOR_SOURCE_DIR) +
                                                       "/config/platforms",
                       const std::vector<std::string>& extra_env = {}) {
        std::vector<std::string> args = {"--platform",       platform,
                                         "--config-dir",     config_dir,
                                         "--redis-port",     std::to_string(redis_.port()),
                                         "--worker-id",      id,
                                         "--concurrency",    "3",
                                         "--lease-ms",       "3000",
                                         "--heartbeat-port", "0",
                                         "--drain"};
        rotor::test::child_options o;
        o.env = {"ROTOR_SHOP_URL=" + shop_.base_url(), "ROTOR_RESULTS_DIR=" + results_dir(),
                 "TMPDIR=" + profiles_.path().string()};
        o.env.insert(o.env.end(), extra_env.begin(), extra_env.end());
        o.drop_env = {"ROTOR_", "TMPDIR="};
        const pid_t pid = rotor::test::spawn_child(WORKER, args, o);
        // Fatal, not a pid of -1 handed on: kill(-1, ...) would signal every process we own.
        if (pid <= 0) throw std::runtime_error("cannot start " + std::string(WORKER));
        return pid;
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
    rotor::test::redis_server redis_;
    rotor::fixture::shop_server shop_;
    rotor::test::temp_dir profiles_{"rotor-worker"};
    rotor::test::temp_dir results_{"rotor-worker-out"};
};

TEST_F(WorkerTest, ResumedAfterSigkillItSavesNoItemTwiceBeyondThoseInFlight) {
    rotor::queue::redis_options r;
    r.port = redis_.port();
    rotor::queue::queue_options qo;
    qo.batch_size = 40;
    rotor::queue::job_queue q(r, qo);
    rotor::queue::enqueue_request req;
    req.platform = "demo-shop";
    for (int i = 0; i < 40; ++i) req.items.push_back(std::to_string(9000 + i));
    const auto job = q.enqueue(req).job_ids.at(0);

    const pid_t first = start_worker("first");
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (saved().size() < 12 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(milliseconds(20));
    }
    ASSERT_GE(saved().size(), 12u) << "the first worker saved too little";
    ::kill(first, SIGKILL);
    int status = 0;
    ::waitpid(first, &status, 0);
    const auto before = saved().size();
    ASSERT_LT(before, 40u) << "the first worker finished before it was killed";

    const pid_t second = start_worker("second"); // takes the job over once its lease expires
    ::waitpid(second, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(q.job_fields(job).at("status"), "done");

    std::map<std::string, int> lines_per_item;
    for (const auto& l : saved()) {
        EXPECT_EQ(l["outcome"], "ok") << l.dump();
        EXPECT_EQ(l["run"], job);
        ++lines_per_item[l["item"].get<std::string>()];
    }
    EXPECT_EQ(lines_per_item.size(), 40u) << "every item saved";
    int repeats = 0;
    for (const auto& [item, n] : lines_per_item) repeats += n - 1;
    // Saved but not yet checkpointed when the worker died: at most the items in flight.
    EXPECT_LE(repeats, 3) << "items saved twice beyond those in flight";
    EXPECT_EQ(q.command({"HLEN", qo.prefix + "results:" + job}).as_integer(), 40);
}

// An API worker writing to PostgreSQL, SIGKILLed mid-run: the next worker resumes after the
// lease expires, and the table ends with exactly one row per item, none lost.
TEST_F(WorkerTest, ApiWorkerKilledAndResumedLeavesOneRowPerItemInPostgres) {
    rotor::test::postgres_server pg;
    pg.psql("CREATE TABLE products (platform text NOT NULL, product_id text NOT NULL, "
            "price numeric, run_id text, writes int NOT NULL DEFAULT 1, "
            "PRIMARY KEY (platform, product_id))");
    // Counts how often a row was written: the key makes a second row impossible, so a repeat
    // shows only as an update.
    pg.psql("CREATE FUNCTION count_write() RETURNS trigger LANGUAGE plpgsql AS "
            "'BEGIN NEW.writes := OLD.writes + 1; RETURN NEW; END'");
    pg.psql("CREATE TRIGGER counted BEFORE UPDATE ON products FOR EACH ROW EXECUTE FUNCTION "
            "count_write()");
    rotor::test::temp_dir configs{"rotor-worker-configs"};
    {
        std::ifstream in(std::string(ROTOR_SOURCE_DIR) + "/config/platforms/demo-api.yaml");
        std::stringstream text;
        text << in.rdbuf();
        std::string yaml = text.str();
        const std::string save = "sinks: [jsonl]}";
        yaml.replace(yaml.find(save), save.size(), "sinks: [jsonl, postgres]}");
        yaml += "  postgres:\n    url: '${ROTOR_PG_URL}'\n    table: products\n"
                "    key: [platform, product_id]\n"
                "    columns: {platform: platform, product_id: item, price: fields.price, "
                "run_id: run}\n";
        std::ofstream(configs.path() / "demo-api.yaml") << yaml;
    }
    const std::vector<std::string> env = {"ROTOR_PG_URL=" + pg.url(), "ROTOR_RPM=900"};
    rotor::queue::redis_options r;
    r.port = redis_.port();
    rotor::queue::queue_options qo;
    qo.batch_size = 100;
    rotor::queue::job_queue q(r, qo);
    rotor::queue::enqueue_request req;
    req.platform = "demo-api";
    for (int i = 0; i < 100; ++i) req.items.push_back(std::to_string(9100 + i));
    const auto job = q.enqueue(req).job_ids.at(0);
    auto rows = [&] { return std::stoi(pg.psql("SELECT count(*) FROM products")); };

    const pid_t first = start_worker("first", "demo-api", configs.path().string(), env);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (rows() < 25 && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(milliseconds(20));
    }
    ::kill(first, SIGKILL);
    int status = 0;
    ::waitpid(first, &status, 0);
    const int before = rows();
    ASSERT_GE(before, 25) << "the first worker wrote too little";
    ASSERT_LT(before, 100) << "the first worker finished before it was killed";

    const pid_t second = start_worker("second", "demo-api", configs.path().string(), env);
    ::waitpid(second, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(q.job_fields(job).at("status"), "done");
    EXPECT_EQ(rows(), 100) << "items lost";
    EXPECT_EQ(pg.psql("SELECT count(DISTINCT product_id) FROM products WHERE run_id = '" + job +
                      "' AND price > 0"),
              "100");
    EXPECT_EQ(q.command({"HLEN", qo.prefix + "results:" + job}).as_integer(), 100);
    // Written but not yet checkpointed when the worker died: at most the lanes in flight (16).
    const int rewrites = std::stoi(pg.psql("SELECT sum(writes) - count(*) FROM products"));
    EXPECT_LE(rewrites, 16) << "rows written twice beyond those in flight";
}

// Two workers side by side drain ten batches: every item ends exactly once, saved or recorded
// as failed, and both workers took jobs.
TEST_F(WorkerTest, TwoWorkersDrainTenBatchesWithEveryItemAccountedFor) {
    rotor::queue::redis_options r;
    r.port = redis_.port();
    rotor::queue::queue_options qo;
    qo.batch_size = 6;
    rotor::queue::job_queue q(r, qo);
    rotor::queue::enqueue_request req;
    req.platform = "demo-shop";
    for (int i = 0; i < 58; ++i) req.items.push_back(std::to_string(9300 + i));
    req.items.push_back("404001"); // gone
    req.items.push_back("410001"); // gone
    const auto jobs = q.enqueue(req).job_ids;
    ASSERT_EQ(jobs.size(), 10u);

    const pid_t a = start_worker("left");
    const pid_t b = start_worker("right");
    for (const pid_t pid : {a, b}) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 0);
    }
    std::map<std::string, int> recorded; // item -> times it ended (result or failure)
    std::set<std::string> workers;
    for (const auto& job : jobs) {
        const auto fields = q.job_fields(job);
        EXPECT_EQ(fields.at("status"), "done") << job;
        workers.insert(fields.at("worker"));
        for (const auto& v : q.command({"HVALS", qo.prefix + "results:" + job}).elements) {
            ++recorded[nlohmann::json::parse(v.as_string()).at("item").get<std::string>()];
        }
        for (const auto& f : q.failures(job)) ++recorded[f.item];
    }
    EXPECT_EQ(recorded.size(), req.items.size()) << "items never recorded";
    for (const auto& item : req.items) EXPECT_EQ(recorded[item], 1) << item;
    EXPECT_EQ(workers, (std::set<std::string>{"left", "right"})) << "one worker did everything";
    std::map<std::string, int> lines;
    for (const auto& l : saved()) ++lines[l["item"].get<std::string>()];
    EXPECT_EQ(lines.size(), req.items.size()) << "an item without its JSON line";
}

} // namespace

// API platforms end to end (config/platforms/demo-api.yaml and demo-graphql.yaml): Redis, the
// fixture shop's JSON and GraphQL routes over real HTTP, the item executor, and the JSONL,
// PostgreSQL (a real server) and Redis stream sinks, with the freshness cache.
#include "catalog.hpp"
#include "nodes/api_fetch_node.hpp"
#include "nodes/config_loader.hpp"
#include "nodes/item_url.hpp"
#include "nodes/job_loop.hpp"
#include "nodes/postgres_sink.hpp"
#include "nodes/redis_stream_sink.hpp"
#include "postgres_server.hpp"
#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"
#include "redis_server.hpp"
#include "shop_server.hpp"
#include "temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <thread>

namespace rotor::nodes {
namespace {

using std::chrono::milliseconds;

class ApiPlatformTest : public ::testing::Test {
  protected:
    platform_config load(const std::string& platform, const fixture::shop_server& shop) const {
        const std::map<std::string, std::string> env = {
            {"ROTOR_SHOP_URL", shop.base_url()},
            {"ROTOR_RESULTS_DIR", (results_.path() / "out").string()},
            {"ROTOR_CONCURRENCY", "8"}};
        return load_platform_config(std::string(ROTOR_SOURCE_DIR) + "/config/platforms/" +
                                        platform + ".yaml",
                                    [env](const std::string& name) -> std::optional<std::string> {
                                        const auto it = env.find(name);
                                        if (it == env.end()) return std::nullopt;
                                        return it->second;
                                    });
    }
    queue::redis_options redis() const {
        queue::redis_options r;
        r.port = redis_.port();
        return r;
    }
    loop_options loop(const std::string& id) const {
        loop_options l;
        l.worker_id = id;
        l.idle_wait = milliseconds(100);
        l.drain = true;
        return l;
    }
    queue::enqueue_request request(const std::string& platform,
                                   std::vector<std::string> items) const {
        queue::enqueue_request r;
        r.platform = platform;
        r.items = std::move(items);
        return r;
    }
    std::vector<nlohmann::json> saved() const {
        std::vector<nlohmann::json> out;
        const auto dir = results_.path() / "out";
        if (!std::filesystem::exists(dir)) return out;
        for (const auto& f : std::filesystem::directory_iterator(dir)) {
            std::ifstream in(f.path());
            for (std::string line; std::getline(in, line);)
                out.push_back(nlohmann::json::parse(line));
        }
        return out;
    }
    loop_stats drain(const platform_config& c, queue::queue_options qo = {}) {
        job_loop run(c, nullptr, redis(), qo, loop("w"));
        run.run();
        return run.stats();
    }
    static std::vector<std::string> ids(std::uint64_t from, int n) {
        std::vector<std::string> out;
        for (int i = 0; i < n; ++i) out.push_back(std::to_string(from + static_cast<unsigned>(i)));
        return out;
    }

    test::redis_server redis_;
    fixture::shop_server shop_;
    test::temp_dir results_{"rotor-api"};
};

TEST_F(ApiPlatformTest, JsonAndGraphqlPlatformsSaveTheShopsValues) {
    for (const std::string platform : {"demo-api", "demo-graphql"}) {
        const auto c = load(platform, shop_);
        queue::job_queue q(redis(), {});
        auto items = ids(6100, 12);
        items.push_back("404005");
        const auto job = q.enqueue(request(platform, items)).job_ids.at(0);
        const auto s = drain(c);
        EXPECT_EQ(s.items_ok, 12u) << platform;
        EXPECT_EQ(s.items_gone, 1u) << platform;
        EXPECT_EQ(q.job_fields(job).at("status"), "done") << platform;
    }
    std::map<std::string, std::map<std::string, nlohmann::json>> by;
    for (const auto& l : saved()) by[l["platform"]][l["item"]] = l;
    for (const std::string platform : {"demo-api", "demo-graphql"}) {
        ASSERT_EQ(by[platform].size(), 13u) << platform;
        for (const auto& id : ids(6100, 12)) {
            const auto want = fixture::product_for(std::stoull(id));
            const auto& l = by[platform][id];
            EXPECT_EQ(l["outcome"], "ok") << platform << " " << l.dump();
            EXPECT_EQ(l["fields"]["price"], want.price) << platform << " " << id;
            EXPECT_EQ(l["fields"]["name"], want.name) << platform << " " << id;
            EXPECT_EQ(l["fields"]["stock"], fixture::to_string(want.stock)) << platform;
        }
        EXPECT_EQ(by[platform]["404005"]["outcome"], "gone") << platform;
    }
    EXPECT_NE(
        by["demo-graphql"]["404005"]["reason"].get<std::string>().find("/data/product is null"),
        std::string::npos);
    const auto stats = shop_.stats();
    EXPECT_EQ(stats["requests_by_route"]["api"], 13);
    EXPECT_EQ(stats["requests_by_route"]["graphql"], 13);
}

// 404 gone; 500 retried then recorded; a slow answer past request_ms retried then recorded;
// a shop that answers 429 past 3 requests a second cools every lane down until all went through.
TEST_F(ApiPlatformTest, StatusesAndTimeoutsFollowTheRules) {
    auto c = load("demo-api", shop_);
    c.retries = 1;
    c.timeouts.request = milliseconds(400);
    queue::job_queue q(redis(), {});
    const auto job =
        q.enqueue(request("demo-api", {"6200", "404001", "410001", "500001", "700001", "6201"}))
            .job_ids.at(0);
    const auto s = drain(c);
    EXPECT_EQ(s.items_ok, 2u);
    EXPECT_EQ(s.items_gone, 2u);
    EXPECT_EQ(s.items_failed, 2u);
    std::map<std::string, std::string> failures;
    for (const auto& f : q.failures(job)) failures[f.item] = f.error;
    EXPECT_NE(failures["500001"].find("gave up after 2 attempt(s): fetch: HTTP 500"),
              std::string::npos)
        << failures["500001"];
    EXPECT_NE(failures["700001"].find("request timeout"), std::string::npos) << failures["700001"];
    EXPECT_EQ(shop_.stats()["requests_by_status"]["500"], 2) << "one retry, then recorded";

    fixture::shop_options so;
    so.max_rps = 3;
    fixture::shop_server limited(so);
    auto lc = load("demo-api", limited);
    lc.rate_limit.cooldown = std::chrono::seconds(1);
    q.enqueue(request("demo-api", ids(6300, 24)));
    const auto s2 = drain(lc);
    EXPECT_EQ(s2.items_ok, 24u) << "every item went through in the end";
    EXPECT_GT(limited.stats()["rate_limited"].get<int>(), 0) << "the shop never pushed back";
}

TEST_F(ApiPlatformTest, CachedItemsAreAnsweredFromRedisNotFetched) {
    auto c = load("demo-api", shop_);
    c.cache_ttl = std::chrono::seconds(3600);
    queue::job_queue q(redis(), {});
    const auto items = ids(6400, 10);
    q.enqueue(request("demo-api", items));
    EXPECT_EQ(drain(c).items_ok, 10u);
    EXPECT_EQ(shop_.stats()["requests_by_route"]["api"], 10);

    shop_.reset_stats();
    auto again = items;
    again.push_back("6499"); // never fetched: not cached
    const auto job = q.enqueue(request("demo-api", again)).job_ids.at(0);
    const auto s = drain(c);
    EXPECT_EQ(s.items_cached, 10u);
    EXPECT_EQ(s.items_ok, 1u);
    EXPECT_EQ(shop_.stats()["requests_by_route"]["api"], 1) << "cached items were fetched again";
    const auto stored = q.command({"HGETALL", "workflow:results:" + job});
    int cached = 0;
    for (std::size_t i = 1; i < stored.elements.size(); i += 2) {
        const auto r = nlohmann::json::parse(stored.elements[i].str);
        if (r.value("cached", false)) {
            ++cached;
            EXPECT_EQ(r["price"],
                      fixture::product_for(std::stoull(r["item"].get<std::string>())).price);
        }
    }
    EXPECT_EQ(cached, 10);
    // A cached answer does not refresh the entry: its TTL still counts from the fetch.
    const auto ttl = q.command({"TTL", "workflow:cache:platform:demo-api:6400"}).integer;
    EXPECT_GT(ttl, 3500);
    EXPECT_LE(ttl, 3600);

    // An entry older than the TTL (read at the job's start, answered later), a damaged one, and
    // one written under another field spec are not answers: those items are fetched.
    const std::string old_key = "workflow:cache:platform:demo-api:6400";
    auto entry = nlohmann::json::parse(q.command({"GET", old_key}).as_string());
    entry["at_ms"] = 0;
    q.command({"SET", old_key, entry.dump(), "KEEPTTL"});
    q.command({"SET", "workflow:cache:platform:demo-api:6401", "{not json", "EX", "600"});
    // A real entry of this run's identity, damaged: a status that is not a number.
    auto damaged = nlohmann::json::parse(
        q.command({"GET", "workflow:cache:platform:demo-api:6402"}).as_string());
    damaged["status"] = "x";
    q.command({"SET", "workflow:cache:platform:demo-api:6402", damaged.dump(), "KEEPTTL"});
    shop_.reset_stats();
    q.enqueue(request("demo-api", {"6400", "6401", "6402", "6403"}));
    const auto s2 = drain(c);
    EXPECT_EQ(s2.items_cached, 1u);
    EXPECT_EQ(s2.items_ok, 3u);
    EXPECT_EQ(shop_.stats()["requests_by_route"]["api"], 3);

    auto changed = c;
    changed.api.fields[1].type = field_type::string; // price read another way: entries stale
    shop_.reset_stats();
    q.enqueue(request("demo-api", {"6404", "6405"}));
    const auto s3 = drain(changed);
    EXPECT_EQ(s3.items_cached, 0u) << "an entry of another field spec answered";
    EXPECT_EQ(shop_.stats()["requests_by_route"]["api"], 2);

    // Another header (a currency, a region) asks another question: those entries do not answer
    // it; the same request again is answered from them.
    auto other_header = changed;
    other_header.api.headers["X-Currency"] = "USD";
    shop_.reset_stats();
    q.enqueue(request("demo-api", {"6404", "6405"}));
    EXPECT_EQ(drain(other_header).items_cached, 0u)
        << "an entry fetched with other headers answered";
    EXPECT_EQ(shop_.stats()["requests_by_route"]["api"], 2);
    q.enqueue(request("demo-api", {"6404", "6405"}));
    EXPECT_EQ(drain(other_header).items_cached, 2u) << "the same request was not answered";
}

TEST_F(ApiPlatformTest, TheStreamHoldsOneEntryPerSavedItem) {
    auto c = load("demo-api", shop_);
    c.redis_stream = redis_stream_sink_spec{};
    c.redis_stream->key = "workflow:stream:platform:demo-api";
    c.workflow.back().sinks.push_back("redis_stream");
    queue::job_queue q(redis(), {});
    auto items = ids(6500, 15);
    items.push_back("404002");
    items.push_back("not-an-id");
    q.enqueue(request("demo-api", items));
    const auto s = drain(c);
    EXPECT_EQ(s.items_ok, 15u);
    EXPECT_EQ(s.items_failed, 1u);
    const auto entries = q.command({"XRANGE", c.redis_stream->key, "-", "+"});
    ASSERT_EQ(entries.elements.size(), 16u) << "ok and gone, one each (failed ones are not taken)";
    std::set<std::string> seen;
    for (const auto& e : entries.elements) {
        std::map<std::string, std::string> f;
        const auto& kv = e.elements.at(1).elements;
        for (std::size_t i = 0; i + 1 < kv.size(); i += 2) f[kv[i].str] = kv[i + 1].str;
        EXPECT_TRUE(seen.insert(f["item"]).second) << "twice: " << f["item"];
        const auto rec = nlohmann::json::parse(f["record"]);
        if (f["outcome"] == "ok") {
            EXPECT_EQ(rec["fields"]["price"], fixture::product_for(std::stoull(f["item"])).price);
        } else {
            EXPECT_EQ(f["item"], "404002");
            EXPECT_EQ(f["outcome"], "gone");
        }
    }
}

TEST_F(ApiPlatformTest, AStreamRecordSavedAgainAfterACrashIsAddedOnce) {
    redis_stream_sink_spec spec;
    spec.key = "workflow:stream:platform:demo-api";
    redis_stream_sink sink(spec, redis());
    item_record r;
    r.platform = "demo-api";
    r.run = "job-1";
    r.item = "6600";
    r.outcome = "ok";
    sink.write(r);
    sink.write(r); // the repeat a crash between save and checkpoint makes
    r.run = "job-2";
    sink.write(r); // another run: a new entry
    queue::job_queue q(redis(), {});
    EXPECT_EQ(q.command({"XLEN", spec.key}).integer, 2);
    EXPECT_FALSE(sink.takes("failed"));
}

// Redirects are followed only to allowed hosts, and never through a URL whose host libcurl and
// the policy would read differently; a second shop on 127.0.0.2 stands for the other host.
TEST_F(ApiPlatformTest, RedirectsStayOnAllowedHosts) {
    fixture::shop_options other_options;
    other_options.address = "127.0.0.2";
    fixture::shop_server other(other_options);
    const auto c = load("demo-api", shop_);
    http::client client(http_options_for(c));
    boost::asio::thread_pool blocking(2);
    api_fetch_node fetch("fetch", c, client, nullptr, blocking);
    auto run_url = [&](const std::string& target) {
        item_context item;
        item.platform = "demo-api";
        item.id = "probe";
        item.url = shop_.base_url() + "/redirect-to?url=" + percent_encode(target);
        item.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        boost::asio::io_context io;
        auto f = boost::asio::co_spawn(io, fetch.run(item), boost::asio::use_future);
        io.run();
        const auto o = f.get();
        return std::make_pair(o, item);
    };
    const auto other_port = std::to_string(other.port());
    const auto own_port = std::to_string(shop_.port());
    auto [off, off_item] = run_url("http://127.0.0.2:" + other_port + "/api/products/5100");
    EXPECT_EQ(off.kind, outcome_kind::failed);
    EXPECT_NE(off.reason.find("refused"), std::string::npos) << off.reason;
    auto [slash, slash_item] =
        run_url("http://127.0.0.1:" + own_port + "\\@127.0.0.2:" + other_port + "/api/products/1");
    EXPECT_EQ(slash.kind, outcome_kind::failed);
    EXPECT_NE(slash.reason.find("backslash"), std::string::npos) << slash.reason;
    EXPECT_EQ(other.stats()["total_requests"], 0) << "the other host was reached";
    auto [ok, ok_item] = run_url(shop_.base_url() + "/api/products/5100");
    EXPECT_EQ(ok.kind, outcome_kind::ok) << ok.reason;
    EXPECT_EQ(ok_item.fields["price"], fixture::product_for(5100).price);
    EXPECT_EQ(ok_item.timings["redirected_to"], shop_.base_url() + "/api/products/5100");
}

class ApiPostgresTest : public ApiPlatformTest {
  protected:
    ApiPostgresTest() {
        pg_.psql("CREATE TABLE products (platform text NOT NULL, product_id text NOT NULL, "
                 "name text, price numeric, stock text, run_id text, scraped_at timestamptz, "
                 "PRIMARY KEY (platform, product_id))");
    }
    platform_config with_postgres(const fixture::shop_server& shop) const {
        auto c = load("demo-api", shop);
        postgres_sink_spec pg;
        pg.url = pg_.url();
        pg.table = "products";
        pg.key = {"platform", "product_id"};
        pg.columns = {{"platform", "platform"},  {"product_id", "item"},    {"name", "fields.name"},
                      {"price", "fields.price"}, {"stock", "fields.stock"}, {"run_id", "run"},
                      {"scraped_at", "at"}};
        c.postgres = pg;
        c.workflow.back().sinks.push_back("postgres");
        return c;
    }
    std::map<std::string, std::string> rows() const {
        std::map<std::string, std::string> out;
        std::stringstream ss(pg_.psql("SELECT product_id || '=' || price::bigint FROM products"));
        for (std::string line; std::getline(ss, line);) {
            const auto eq = line.find('=');
            if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
        }
        return out;
    }
    test::postgres_server pg_;
};

TEST_F(ApiPostgresTest, UpsertsOneRowPerItemInBatches) {
    auto c = with_postgres(shop_);
    c.concurrency = 16;
    queue::job_queue q(redis(), {});
    q.enqueue(request("demo-api", ids(7000, 200)));
    EXPECT_EQ(drain(c).items_ok, 200u);
    auto got = rows();
    ASSERT_EQ(got.size(), 200u);
    for (const auto& id : ids(7000, 200)) {
        EXPECT_EQ(got[id], std::to_string(fixture::product_for(std::stoull(id)).price)) << id;
    }
    // Again (a new run of the same items): still one row each, now from the later run.
    const auto jobs = q.enqueue(request("demo-api", ids(7000, 200))).job_ids;
    drain(c);
    EXPECT_EQ(pg_.psql("SELECT count(*) FROM products"), "200");
    std::string in;
    for (const auto& j : jobs) in += (in.empty() ? "'" : ",'") + j + "'";
    EXPECT_EQ(pg_.psql("SELECT count(*) FROM products WHERE run_id IN (" + in + ")"), "200");
}

// Lanes writing at once share statements: a write returns once its row is committed, and the
// rows waiting meanwhile go in together.
TEST_F(ApiPostgresTest, ConcurrentWritesAreGroupCommitted) {
    postgres_sink_spec spec;
    spec.url = pg_.url();
    spec.table = "products";
    spec.key = {"platform", "product_id"};
    spec.columns = {{"platform", "platform"}, {"product_id", "item"}, {"price", "fields.price"}};
    postgres_sink sink(spec, "p");
    std::vector<std::thread> lanes;
    for (int lane = 0; lane < 16; ++lane) {
        lanes.emplace_back([&, lane] {
            for (int i = 0; i < 20; ++i) {
                item_record r;
                r.platform = "p";
                r.item = std::to_string(lane * 100 + i);
                r.fields = {{"price", lane * 100 + i}};
                sink.write(r);
            }
        });
    }
    for (auto& t : lanes) t.join();
    EXPECT_EQ(pg_.psql("SELECT count(*) FROM products"), "320");
    EXPECT_EQ(pg_.psql("SELECT sum(price)::bigint FROM products"), std::to_string([] {
                  long long sum = 0;
                  for (int lane = 0; lane < 16; ++lane)
                      for (int i = 0; i < 20; ++i) sum += lane * 100 + i;
                  return sum;
              }()));
    const auto st = sink.stats();
    EXPECT_EQ(st.rows, 320u);
    // 16 lanes waiting at once: a statement carries several rows (one per row would be 320).
    EXPECT_LE(st.statements, 160u) << "rows were hardly batched";
    EXPECT_EQ(st.connects, 1u);
}

// A row the table refuses (a CHECK on one product) fails that item alone, with the server's
// words; the rest of its batch is written and the job completes (it is not given back for ever).
TEST_F(ApiPostgresTest, ARowTheTableRefusesFailsItsItemAlone) {
    pg_.psql("ALTER TABLE products ADD CONSTRAINT no_7105 CHECK (product_id <> '7105')");
    auto c = with_postgres(shop_);
    c.concurrency = 8;
    queue::job_queue q(redis(), {});
    const auto job = q.enqueue(request("demo-api", ids(7100, 20))).job_ids.at(0);
    const auto s = drain(c);
    EXPECT_EQ(s.items_ok, 19u);
    EXPECT_EQ(s.items_failed, 1u);
    EXPECT_EQ(q.job_fields(job).at("status"), "done");
    const auto failures = q.failures(job);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].item, "7105");
    EXPECT_NE(failures[0].error.find("refused the row"), std::string::npos) << failures[0].error;
    EXPECT_NE(failures[0].error.find("SQLSTATE 23514"), std::string::npos) << failures[0].error;
    EXPECT_EQ(rows().size(), 19u);
    // Its line says failed, with no ok line before it: the refusing sink is written first.
    std::vector<std::string> lines_7105;
    for (const auto& l : saved()) {
        if (l["item"] == "7105") lines_7105.push_back(l["outcome"]);
    }
    EXPECT_EQ(lines_7105, std::vector<std::string>{"failed"});
}

// The refused row sits in a batch with others (the table is locked while they queue up): the
// batch is written again row by row and only that row is refused.
TEST_F(ApiPostgresTest, ARefusedRowInABatchLeavesTheOthersWritten) {
    pg_.psql("ALTER TABLE products ADD CONSTRAINT no_7205 CHECK (product_id <> '7205')");
    postgres_sink_spec spec;
    spec.url = pg_.url();
    spec.table = "products";
    spec.key = {"platform", "product_id"};
    spec.columns = {{"platform", "platform"}, {"product_id", "item"}};
    postgres_sink sink(spec, "p");
    pqxx::connection locker(pg_.url());
    auto lock = std::make_unique<pqxx::work>(locker);
    lock->exec("LOCK TABLE products IN ACCESS EXCLUSIVE MODE");
    std::atomic<int> refused{0};
    auto write = [&](int id) {
        item_record r;
        r.platform = "p";
        r.item = std::to_string(id);
        try {
            sink.write(r);
        } catch (const record_refused& e) {
            ++refused;
            EXPECT_EQ(r.item, "7205") << e.what();
        }
    };
    std::vector<std::thread> lanes;
    lanes.emplace_back(write, 7200); // the writer, blocked on the lock with its one row
    std::this_thread::sleep_for(milliseconds(200));
    for (int id = 7201; id <= 7210; ++id) lanes.emplace_back(write, id); // queue up behind it
    std::this_thread::sleep_for(milliseconds(300));
    lock->commit();
    for (auto& t : lanes) t.join();
    EXPECT_EQ(refused, 1);
    EXPECT_EQ(pg_.psql("SELECT count(*) FROM products"), "10");
    EXPECT_EQ(pg_.psql("SELECT count(*) FROM products WHERE product_id = '7205'"), "0");
    EXPECT_GE(sink.stats().statements, 10u) << "the batch was not written row by row";
}

// A table that does not take the mapping is found before any item runs, with the server's
// words: before, every job was given back at its first save, for ever, with the worker healthy.
TEST_F(ApiPostgresTest, AMappingTheTableDoesNotTakeIsRefusedAtStart) {
    pg_.psql("CREATE TABLE unkeyed (platform text, product_id text)");
    pg_.psql("CREATE ROLE reader LOGIN");
    pg_.psql("GRANT SELECT ON products TO reader");
    const auto base = [&] {
        postgres_sink_spec spec;
        spec.url = pg_.url();
        spec.table = "products";
        spec.key = {"platform", "product_id"};
        spec.columns = {
            {"platform", "platform"}, {"product_id", "item"}, {"price", "fields.price"}};
        return spec;
    };
    EXPECT_EQ(postgres_sink(base(), "p").probe(), std::nullopt) << "the right mapping";
    // Column grants are enough: the role may write exactly the mapped columns.
    pg_.psql("CREATE ROLE writer LOGIN");
    pg_.psql("GRANT INSERT (platform, product_id, price), UPDATE (price), SELECT (platform, price, "
             "product_id) ON products TO writer");
    auto granted = base();
    granted.url = "postgresql://writer@127.0.0.1:" + std::to_string(pg_.port()) + "/postgres";
    EXPECT_EQ(postgres_sink(granted, "p").probe(), std::nullopt) << "column grants refused";
    item_record written;
    written.platform = "p";
    written.item = "7400";
    written.fields = {{"price", 7}};
    EXPECT_NO_THROW(postgres_sink(granted, "p").write(written)) << "the probe let through a role "
                                                                   "that cannot write";
    struct bad {
        std::string what, sqlstate;
        std::function<void(postgres_sink_spec&)> change;
    };
    const std::vector<bad> bads = {
        {"no such table", "42P01", [](postgres_sink_spec& s) { s.table = "missing"; }},
        {"no such column", "42703", [](postgres_sink_spec& s) { s.columns.back().first = "nope"; }},
        {"no unique index on the key", "42P10",
         [](postgres_sink_spec& s) {
             s.table = "unkeyed";
             s.columns.pop_back();
         }},
        {"no privilege", "42501",
         [&](postgres_sink_spec& s) {
             s.url = "postgresql://reader@127.0.0.1:" + std::to_string(pg_.port()) + "/postgres";
         }},
    };
    for (const auto& b : bads) {
        auto spec = base();
        b.change(spec);
        try {
            const auto r = postgres_sink(spec, "p").probe();
            ADD_FAILURE() << b.what << ": accepted (" << r.value_or("the check passed") << ")";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(b.sqlstate), std::string::npos)
                << b.what << ": " << e.what();
        }
    }
    auto away = base();
    away.url = "postgresql://rotor@127.0.0.1:1/postgres";
    const auto why = postgres_sink(away, "p").probe();
    ASSERT_TRUE(why.has_value()) << "a server away passed the check";
    EXPECT_NE(why->find("cannot connect"), std::string::npos) << *why;

    // The worker's path: its job loop is not built, and nothing is claimed.
    auto c = with_postgres(shop_);
    c.postgres->table = "missing";
    queue::job_queue q(redis(), {});
    q.enqueue(request("demo-api", ids(7300, 2)));
    EXPECT_THROW(job_loop(c, nullptr, redis(), {}, loop("w")), std::invalid_argument);
    EXPECT_EQ(q.counts("demo-api").queued, 1) << "a job was claimed";
}

TEST_F(ApiPostgresTest, AServerStoppedForFiveSecondsLosesNothing) {
    auto c = with_postgres(shop_);
    c.concurrency = 4;
    c.rate_limit.requests_per_minute = 3000; // 50 a second: the run outlasts the outage
    c.rate_limit.burst = 1;
    queue::queue_options qo;
    qo.batch_size = 50;
    queue::job_queue q(redis(), qo);
    const auto group = q.enqueue(request("demo-api", ids(7300, 600))).group_id;
    job_loop run(c, nullptr, redis(), qo, loop("w"));
    std::thread t([&] { run.run(); });
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (rows().size() < 100 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(milliseconds(50));
    }
    pg_.stop();
    std::this_thread::sleep_for(std::chrono::seconds(5));
    pg_.start();
    t.join();
    const auto got = rows();
    EXPECT_EQ(got.size(), 600u) << "items lost while the server was away";
    const auto p = q.progress(group);
    EXPECT_EQ(p.completed, 12);
    EXPECT_EQ(p.failed, 0);
    EXPECT_EQ(run.stats().items_failed, 0u) << "an outage is not the items' fault";
    EXPECT_GE(run.stats().jobs_released, 1u) << "the outage was never met";
}

} // namespace
} // namespace rotor::nodes

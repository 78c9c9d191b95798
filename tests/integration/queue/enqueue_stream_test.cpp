// Streaming enqueue against a real redis-server: bounded chunks, idempotency keys, item values.
#include "queue/enqueue_writer.hpp"
#include "queue/job_queue.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace rotor::queue {
namespace {

class EnqueueStreamTest : public ::testing::Test {
  protected:
    redis_options redis() const {
        redis_options r;
        r.port = server_.port();
        r.retry_for = std::chrono::milliseconds(3000);
        return r;
    }
    queue_options options(std::size_t batch) const {
        queue_options o;
        o.batch_size = batch;
        return o;
    }
    static enqueue_target target(const std::string& key = {}) {
        enqueue_target t;
        t.platform = "p";
        t.workflow_id = "p-update-v2";
        t.idempotency_key = key;
        return t;
    }
    static void add_numbered(enqueue_writer& w, std::size_t from, std::size_t to) {
        for (std::size_t i = from; i < to; ++i) w.add({"id" + std::to_string(i), nullptr});
    }
    std::int64_t queued(job_queue& q) { return q.counts("p").queued; }
    test::redis_server server_;
};

TEST_F(EnqueueStreamTest, WritesBoundedChunksInQueueOrder) {
    job_queue q(redis(), options(10));
    enqueue_limits limits;
    limits.chunk_items = 100;
    enqueue_writer w(q, target(), limits);
    add_numbered(w, 0, 150);
    // One chunk (10 jobs) is written once the 11th job is complete; the group is still open.
    EXPECT_EQ(queued(q), 10);
    const auto group_key = q.key_names().batch_group(w.group_id());
    EXPECT_EQ(q.command({"HGET", group_key, "enqueuing"}).as_string(), "1");
    EXPECT_TRUE(q.progress(w.group_id()).enqueuing);
    add_numbered(w, 150, 1055);
    const auto s = w.finish();
    EXPECT_EQ(s.items, 1055u);
    EXPECT_EQ(s.jobs, 106u);
    EXPECT_EQ(s.chunks, 11u) << "100 ids per chunk at most: 10 full jobs each, then 6";
    EXPECT_EQ(queued(q), 106);
    EXPECT_FALSE(q.progress(s.group_id).enqueuing) << "closed by finish()";
    EXPECT_EQ(q.progress(s.group_id).total, 106);
    // Queue order is enqueue order across chunks (a later chunk's scores are higher).
    const auto order = q.command({"ZRANGE", q.key_names().queue("p"), "0", "-1"});
    ASSERT_EQ(order.elements.size(), 106u);
    for (std::size_t i = 0; i < order.elements.size(); ++i) {
        EXPECT_EQ(order.elements[i].as_string(), s.group_id + "-" + std::to_string(i));
    }
    std::set<std::string> ids(s.job_ids.begin(), s.job_ids.end());
    EXPECT_EQ(ids.size(), 106u);
    const auto last = nlohmann::json::parse(q.job_fields(s.group_id + "-105").at("params"));
    EXPECT_EQ(last["product_ids"],
              nlohmann::json::array({"id1050", "id1051", "id1052", "id1053", "id1054"}));
    EXPECT_EQ(last["batch_index"], 105);
    EXPECT_FALSE(last.contains("batch_total")) << "not known while streaming without expect()";
}

TEST_F(EnqueueStreamTest, ARetryWithTheSameKeyAddsNothingTwice) {
    job_queue q(redis(), options(10));
    enqueue_limits limits;
    limits.chunk_items = 100;
    std::string group;
    {
        // The first run dies after 5 full chunks were written (the 6th was being filled).
        enqueue_writer w(q, target("import-2026-11-29"), limits);
        w.expect(1000);
        add_numbered(w, 0, 550);
        group = w.group_id();
        EXPECT_EQ(queued(q), 50);
    }
    enqueue_writer again(q, target("import-2026-11-29"), limits);
    EXPECT_EQ(again.group_id(), group) << "the key is bound to its group";
    again.expect(1000);
    add_numbered(again, 0, 1000);
    const auto s = again.finish();
    EXPECT_EQ(s.replayed_chunks, 5u);
    EXPECT_EQ(s.chunks, 10u);
    EXPECT_EQ(queued(q), 100) << "each item once";
    EXPECT_EQ(q.progress(group).total, 100);
    EXPECT_EQ(s.job_ids.size(), 100u);
    EXPECT_EQ(s.job_ids.front(), group + "-0");
    EXPECT_EQ(s.job_ids.back(), group + "-99");

    // A third run of the whole enqueue adds nothing at all.
    enqueue_writer third(q, target("import-2026-11-29"), limits);
    third.expect(1000);
    add_numbered(third, 0, 1000);
    EXPECT_EQ(third.finish().replayed_chunks, 10u);
    EXPECT_EQ(queued(q), 100);
    // The same through enqueue(request).
    enqueue_request r;
    static_cast<enqueue_target&>(r) = target("one-shot");
    r.items = {"a", "b", "c"};
    const auto first = q.enqueue(r);
    const auto second = q.enqueue(r);
    EXPECT_EQ(first.job_ids, second.job_ids);
    EXPECT_EQ(queued(q), 101);
}

TEST_F(EnqueueStreamTest, AKeyUsedForOtherItemsOrAnotherGroupIsRefused) {
    job_queue q(redis(), options(10));
    {
        enqueue_writer w(q, target("k"));
        add_numbered(w, 0, 30);
        w.finish();
    }
    EXPECT_EQ(queued(q), 3);
    enqueue_writer other(q, target("k"));
    add_numbered(other, 100, 130);
    try {
        other.finish();
        FAIL() << "other items under a used key were written";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::idempotency_mismatch) << e.what();
        EXPECT_NE(std::string(e.what()).find("other items"), std::string::npos) << e.what();
    }
    EXPECT_EQ(queued(q), 3) << "nothing was added";
    auto t = target("k");
    t.platform = "q";
    EXPECT_THROW(enqueue_writer(q, t), error);
    t = target("k");
    t.group_id = "some-other-group";
    try {
        enqueue_writer w(q, t);
        FAIL() << "a key bound to one group enqueued into another";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::idempotency_mismatch) << e.what();
    }
    EXPECT_THROW(enqueue_writer(q, target("no spaces")), error);
}

TEST_F(EnqueueStreamTest, BadIdsAreRefusedBeforeAnythingIsWritten) {
    job_queue q(redis(), options(2));
    enqueue_request r;
    r.platform = "p";
    r.items = {" A1 ", "A2", "A3", "   ", "A5"};
    try {
        q.enqueue(r);
        FAIL() << "an empty id was enqueued";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("item 3: the id is empty"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(queued(q), 0);
    for (const std::string& bad :
         {std::string("a\x01"), std::string("\xff"), std::string(600, 'x')}) {
        r.items = {"ok", bad};
        EXPECT_THROW(q.enqueue(r), error);
    }
    EXPECT_EQ(queued(q), 0);
    r.items = {" A1 ", "\tA2\r\n"};
    q.enqueue(r);
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    EXPECT_EQ(job->items(), (std::vector<std::string>{"A1", "A2"})) << "ids are trimmed";
    EXPECT_EQ(job->params["batch_total"], 1);
}

TEST_F(EnqueueStreamTest, AnItemsValuesReachItsLease) {
    job_queue q(redis(), options(3));
    enqueue_writer w(q, target());
    w.add({"A1", {{"name", "Cream"}, {"price", "12000"}}});
    w.add({"A2", nullptr});
    w.add({"A3", {{"url", "http://127.0.0.1/x"}}});
    w.add({"A4", nullptr}); // a job without values carries no item_data
    EXPECT_THROW(w.add({"A5", nlohmann::json::array({1})}), error) << "values are an object";
    w.finish();
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    ASSERT_NE(job->item_data(0), nullptr);
    EXPECT_EQ((*job->item_data(0))["name"], "Cream");
    EXPECT_EQ(job->item_data(1), nullptr);
    EXPECT_EQ((*job->item_data(2))["url"], "http://127.0.0.1/x");
    EXPECT_EQ(job->item_data(3), nullptr) << "out of range";
    auto second = q.complete_and_claim(*job);
    ASSERT_TRUE(second);
    EXPECT_FALSE(second->params.contains("item_data"));
    EXPECT_EQ(second->item_data(0), nullptr);
}

// Values that cannot be written as JSON (not UTF-8) fail the add of the job that holds them,
// with the job named, and nothing of that job is written.
TEST_F(EnqueueStreamTest, ValuesThatAreNotUtf8AreAClearError) {
    job_queue q(redis(), options(1));
    enqueue_writer w(q, target());
    try {
        w.add({"A1", {{"name", "\xc3"}}});
        FAIL() << "a value that is not UTF-8 was taken";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::invalid_argument);
        EXPECT_NE(std::string(e.what()).find("cannot be written as JSON"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(queued(q), 0);
}

// The key's binding and its chunks' records live in one hash with one expiry, refreshed by every
// use: a retry late in the window used to find some chunk records gone and others not, and
// added the expired chunks' items again.
TEST_F(EnqueueStreamTest, EveryUseOfAKeyKeepsAllItsRecordsAlive) {
    auto o = options(10);
    o.idempotency_window = std::chrono::seconds(2);
    job_queue q(redis(), o);
    auto t = target("late-retry");
    t.group_id = "fixed-group";
    auto run = [&] {
        enqueue_writer w(q, t);
        add_numbered(w, 0, 20);
        return w.finish();
    };
    EXPECT_EQ(run().replayed_chunks, 0u);
    const auto record = q.key_names().enqueue_key("late-retry");
    EXPECT_EQ(q.command({"HGET", record, "group"}).as_string(), "fixed-group");
    EXPECT_FALSE(q.command({"HGET", record, "chunk:0"}).is_nil());
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    EXPECT_EQ(run().replayed_chunks, 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1300)); // 2.6 s after the first write
    EXPECT_EQ(run().replayed_chunks, 1u) << "the replay refreshed the record";
    EXPECT_EQ(queued(q), 2);
    EXPECT_THROW(
        {
            auto bad = o;
            bad.idempotency_window = std::chrono::seconds(0);
            job_queue zero(redis(), bad);
        },
        error)
        << "a zero window would fail the script halfway";
}

// A retry is the same enqueue whether the jobs knew their batch_total or not (a stdin run
// finished from a file), and a key used with other settings is refused before anything is
// written.
TEST_F(EnqueueStreamTest, TheSettingsAreBoundToTheKeyAndTheDigestToTheItems) {
    job_queue q(redis(), options(10));
    enqueue_limits limits;
    limits.chunk_items = 10;
    {
        enqueue_writer w(q, target("from-stdin"), limits);
        add_numbered(w, 0, 35); // two chunks written, the third pending: the run dies
        EXPECT_EQ(queued(q), 2);
    }
    enqueue_writer file(q, target("from-stdin"), limits);
    file.expect(40);
    add_numbered(file, 0, 40);
    const auto s = file.finish();
    EXPECT_EQ(s.replayed_chunks, 2u);
    EXPECT_EQ(queued(q), 4);
    for (auto change : {0, 1, 2}) {
        auto t = target("from-stdin");
        if (change == 0) t.workflow_id = "other-workflow";
        if (change == 1) t.prio = priority::high;
        if (change == 2) t.platform = "other";
        try {
            enqueue_writer w(q, t, limits);
            FAIL() << "changed setting " << change << " was taken";
        } catch (const error& e) {
            EXPECT_EQ(e.kind(), errc::idempotency_mismatch) << e.what();
        }
    }
    EXPECT_EQ(queued(q), 4);
}

// Every check of the enqueue script runs before its first write (Redis keeps a script's writes
// made before a failing command): a refused chunk leaves nothing, and the writer then refuses
// everything, so no later chunk can take the failed one's number unnoticed.
// A chunk refused after others were written says so once, and does not tell the user to run
// the enqueue again under its key: the re-run would be refused at the same chunk. (The message
// used to be wrapped twice, and carried that hint for every kind of error.)
TEST_F(EnqueueStreamTest, ALaterRefusedChunkSaysWhatWasWrittenOnceAndNoRerunHint) {
    job_queue q(redis(), options(1));
    const auto& k = q.key_names();
    q.command({"HSET", k.job("taken-1"), "id", "taken-1", "status", "dead"});
    auto t = target("refused-later");
    t.group_id = "taken";
    enqueue_limits limits;
    limits.chunk_jobs = 1; // one job per chunk: chunk 0 is job taken-0, chunk 1 is taken-1
    enqueue_writer w(q, t, limits);
    try {
        add_numbered(w, 0, 3);
        w.finish();
        FAIL() << "an existing job was overwritten";
    } catch (const error& e) {
        const std::string what = e.what();
        EXPECT_EQ(e.kind(), errc::invalid_argument) << what;
        EXPECT_NE(what.find("JOB_EXISTS"), std::string::npos) << what;
        const std::string written = "1 chunk(s) of group taken were written before this";
        const auto said = what.find(written);
        ASSERT_NE(said, std::string::npos) << what;
        EXPECT_EQ(what.find("were written before", said + written.size()), std::string::npos)
            << what;
        EXPECT_EQ(what.find("were written before"), said + written.find("were written before"))
            << what;
        EXPECT_EQ(what.find("run the same enqueue again"), std::string::npos) << what;
    }
    EXPECT_EQ(q.command({"HGET", k.job("taken-0"), "status"}).as_string(), "queued");
    EXPECT_EQ(q.command({"HGET", k.job("taken-1"), "status"}).as_string(), "dead");
}

TEST_F(EnqueueStreamTest, ARefusedChunkWritesNothingAndStopsTheWriter) {
    job_queue q(redis(), options(2));
    const auto& k = q.key_names();
    // A job id the counter would give is taken (a group id reused while its old jobs live).
    q.command({"HSET", k.job("reused-0"), "id", "reused-0", "status", "dead"});
    auto t = target();
    t.group_id = "reused";
    enqueue_writer w(q, t);
    w.add({"a", nullptr});
    w.add({"b", nullptr});
    try {
        w.finish();
        FAIL() << "an existing job was overwritten";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("JOB_EXISTS"), std::string::npos) << e.what();
    }
    EXPECT_EQ(q.command({"HGET", k.job("reused-0"), "status"}).as_string(), "dead");
    EXPECT_EQ(q.command({"EXISTS", k.batch_group("reused")}).as_integer(), 0);
    EXPECT_EQ(q.command({"EXISTS", k.batch_group_seq("reused")}).as_integer(), 0);
    EXPECT_THROW(w.add({"c", nullptr}), error);
    EXPECT_THROW(w.finish(), error);

    // A queue key of another type: refused before anything is written.
    q.command({"SET", k.queue("p"), "not a zset"});
    enqueue_writer v(q, target());
    v.add({"a", nullptr});
    EXPECT_THROW(v.finish(), error);
    EXPECT_EQ(q.command({"EXISTS", k.batch_group(v.group_id())}).as_integer(), 0);
    q.command({"DEL", k.queue("p")});

    // A job too big for one script is refused with the reason, nothing written.
    job_queue big_q(redis(), options(100));
    enqueue_limits limits;
    limits.chunk_bytes = 1000;
    enqueue_writer big(big_q, target(), limits);
    for (int i = 0; i < 99; ++i) big.add({"item-with-a-long-id-" + std::to_string(i), nullptr});
    try {
        big.add({"the-hundredth", nullptr});
        FAIL() << "a job over chunk_bytes was taken";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("lower the batch size"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(queued(q), 0);
}

TEST_F(EnqueueStreamTest, TheGroupCounterExpiresLongAfterTheGroupsData) {
    job_queue q(redis(), options(10));
    enqueue_writer w(q, target());
    add_numbered(w, 0, 5);
    const auto s = w.finish();
    const auto ttl = q.command({"TTL", q.key_names().batch_group_seq(s.group_id)}).as_integer();
    EXPECT_GT(ttl, 2 * 30 * 24 * 3600 - 60) << "twice the longest data TTL (dead retention)";
    EXPECT_LE(ttl, 2 * 30 * 24 * 3600);
}

} // namespace
} // namespace rotor::queue

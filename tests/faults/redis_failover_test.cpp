// A failed-over primary: the Redis a worker talks to becomes a replica (a failover demoted it,
// or a proxy still points at the old primary) and answers every write with READONLY until it is
// promoted again or the name points elsewhere. The client takes that as a lost connection:
// reconnect and retry (scripts refused with READONLY ran no write, so the retry is safe).
#include "queue/job_queue.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace rotor::queue {
namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

redis_options options_for(const test::redis_server& server) {
    redis_options r;
    r.port = server.port();
    r.retry_for = milliseconds(15000);
    r.retry_backoff = milliseconds(20);
    r.retry_backoff_max = milliseconds(100);
    return r;
}

// How many READONLY errors `server` has answered (INFO errorstats, Redis 6.2+).
std::int64_t readonly_errors(redis_connection& admin) {
    const std::string info = admin.command({"INFO", "errorstats"}).as_string();
    const std::string tag = "errorstat_READONLY:count=";
    const auto at = info.find(tag);
    return at == std::string::npos ? 0 : std::stoll(info.substr(at + tag.size()));
}

TEST(RedisFailover, AReadonlyReplicaIsRetriedUntilItIsPrimaryAgain) {
    test::redis_server primary;
    test::redis_server demoted;
    redis_connection admin(options_for(demoted));
    admin.command({"REPLICAOF", "127.0.0.1", std::to_string(primary.port())});

    job_queue q(options_for(demoted), {});
    // Promote it back once the client has met READONLY (a condition, not a sleep).
    std::thread promote([&] {
        redis_connection c(options_for(demoted));
        const auto deadline = clock_type::now() + std::chrono::seconds(10);
        while (readonly_errors(c) == 0 && clock_type::now() < deadline) {
            std::this_thread::sleep_for(milliseconds(10));
        }
        c.command({"REPLICAOF", "NO", "ONE"});
    });
    struct joiner {
        std::thread& t;
        ~joiner() { t.join(); }
    } join_promote{promote};

    const auto reconnects = q.reconnects();
    enqueue_request r;
    r.platform = "p";
    r.items = {"1", "2", "3"};
    std::vector<std::string> ids;
    try {
        ids = q.enqueue(r).job_ids;
    } catch (const error& e) {
        FAIL() << "READONLY was thrown, not retried: " << e.what();
    }
    EXPECT_GE(readonly_errors(admin), 1) << "the client never met READONLY";
    EXPECT_GE(q.reconnects(), reconnects + 1) << "READONLY did not drop the connection";
    EXPECT_EQ(ids.size(), 1u);
    EXPECT_EQ(q.counts("p").queued, 1) << "the retried enqueue ran more than once";
    auto job = q.claim("p", "w");
    ASSERT_TRUE(job);
    q.complete(*job);
}

} // namespace
} // namespace rotor::queue

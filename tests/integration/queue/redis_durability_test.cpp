// check_durability against real redis-servers configured as a worker may meet them.
#include "queue/errors.hpp"
#include "queue/redis_durability.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

namespace rotor::queue {
namespace {

using std::chrono::milliseconds;

redis_options options_for(const test::redis_server& server) {
    redis_options r;
    r.port = server.port();
    r.retry_for = milliseconds(2000);
    return r;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(RedisDurability, SaysWhatACrashLosesForEachPersistenceSetting) {
    test::redis_server server; // appendonly no, save ''
    redis_connection c(options_for(server));
    auto r = check_durability(c, false);
    EXPECT_TRUE(r.config_readable);
    EXPECT_EQ(r.maxmemory_policy, "noeviction");
    EXPECT_FALSE(r.aof);
    EXPECT_TRUE(contains(r.summary, "no persistence")) << r.summary;
    ASSERT_EQ(r.warnings.size(), 1u) << "a Redis that forgets everything on restart is said";

    c.command({"CONFIG", "SET", "save", "900 1 300 10"});
    r = check_durability(c, false);
    EXPECT_TRUE(contains(r.summary, "RDB snapshots only (save 900 1 300 10)")) << r.summary;
    EXPECT_TRUE(r.warnings.empty());

    c.command({"CONFIG", "SET", "appendonly", "yes"});
    c.command({"CONFIG", "SET", "appendfsync", "everysec"});
    r = check_durability(c, false);
    EXPECT_TRUE(r.aof);
    EXPECT_TRUE(contains(r.summary, "AOF everysec: up to 1 s of acknowledged writes")) << r.summary;
    c.command({"CONFIG", "SET", "appendfsync", "always"});
    EXPECT_TRUE(contains(check_durability(c, false).summary, "AOF always")) << r.summary;
    c.command({"CONFIG", "SET", "appendfsync", "no"});
    EXPECT_TRUE(contains(check_durability(c, false).summary, "without fsync")) << r.summary;
}

TEST(RedisDurability, AnEvictingRedisIsRefusedUnlessAllowedThenWarned) {
    test::redis_server server;
    redis_connection c(options_for(server));
    c.command({"CONFIG", "SET", "maxmemory", "1gb"});
    for (const char* policy : {"allkeys-lru", "volatile-ttl"}) {
        c.command({"CONFIG", "SET", "maxmemory-policy", policy});
        try {
            check_durability(c, false);
            FAIL() << policy << " was accepted";
        } catch (const error& e) {
            EXPECT_EQ(e.kind(), errc::unsafe_config);
            EXPECT_TRUE(contains(e.what(), std::string("'") + policy + "'")) << e.what();
            EXPECT_TRUE(contains(e.what(), "noeviction")) << e.what();
        }
        const auto r = check_durability(c, true);
        EXPECT_EQ(r.maxmemory_policy, policy);
        ASSERT_FALSE(r.warnings.empty());
        EXPECT_TRUE(contains(r.warnings.front(), "evicts keys")) << r.warnings.front();
    }
}

// Without a memory limit Redis evicts nothing whatever the policy: a warning, not a refusal
// (a worker used to refuse to start on such a Redis).
TEST(RedisDurability, AnEvictionPolicyWithoutAMemoryLimitIsAWarning) {
    test::redis_server server;
    redis_connection c(options_for(server));
    c.command({"CONFIG", "SET", "maxmemory", "0"});
    c.command({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
    const auto r = check_durability(c, false);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_TRUE(contains(r.warnings.front(), "maxmemory is 0")) << r.warnings.front();
    EXPECT_TRUE(contains(r.warnings.front(), "noeviction")) << r.warnings.front();
}

TEST(RedisDurability, ARedisThatRefusesConfigIsAWarningNotAnError) {
    test::redis_server_options managed;
    managed.extra_args = {"--rename-command", "CONFIG", ""}; // as managed services do
    test::redis_server server(managed);
    redis_connection c(options_for(server));
    const auto r = check_durability(c, false);
    EXPECT_FALSE(r.config_readable);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_TRUE(contains(r.warnings[0], "refused CONFIG")) << r.warnings[0];
    EXPECT_TRUE(contains(r.summary, "unknown")) << r.summary;
}

TEST(RedisDurability, DescribesPersistenceInOneLine) {
    EXPECT_TRUE(contains(describe_persistence(true, "everysec", ""), "up to 1 s"));
    EXPECT_TRUE(contains(describe_persistence(true, "always", "3600 1"), "RDB snapshots too"));
    EXPECT_FALSE(contains(describe_persistence(false, "everysec", ""), "\n"));
}

} // namespace
} // namespace rotor::queue

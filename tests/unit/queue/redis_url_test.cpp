// Redis URLs as deployments write them (REDIS_URL), and the clear errors for bad ones.
#include "queue/errors.hpp"
#include "queue/redis_connection.hpp"

#include <gtest/gtest.h>

namespace rotor::queue {
namespace {

TEST(RedisUrl, HostPortUserPasswordAndDatabase) {
    auto o = parse_redis_url("redis://worker:s3cret@redis.internal:6380/2");
    EXPECT_EQ(o.host, "redis.internal");
    EXPECT_EQ(o.port, 6380);
    EXPECT_EQ(o.username, "worker");
    EXPECT_EQ(o.password, "s3cret");
    EXPECT_EQ(o.db, 2);

    o = parse_redis_url("redis://:only-a-password@10.0.0.5");
    EXPECT_EQ(o.host, "10.0.0.5");
    EXPECT_EQ(o.port, 6379);
    EXPECT_EQ(o.username, "");
    EXPECT_EQ(o.password, "only-a-password");
    EXPECT_EQ(o.db, 0);

    o = parse_redis_url("redis://redis");
    EXPECT_EQ(o.host, "redis");
    EXPECT_EQ(o.port, 6379);
    EXPECT_TRUE(o.password.empty());

    o = parse_redis_url("redis://:pw@[::1]:6390/1");
    EXPECT_EQ(o.host, "::1");
    EXPECT_EQ(o.port, 6390);
    EXPECT_EQ(o.db, 1);
    o = parse_redis_url("redis://[fe80::2]");
    EXPECT_EQ(o.host, "fe80::2");
    EXPECT_EQ(o.port, 6379);

    o = parse_redis_url("redis://p@ss:w@rd@h:1/");
    EXPECT_EQ(o.password, "w@rd") << "the last @ ends the credentials";
    EXPECT_EQ(o.username, "p@ss");
    EXPECT_EQ(o.host, "h");
}

TEST(RedisUrl, BadUrlsAreClearErrorsThatDoNotShowThePassword) {
    for (const char* url :
         {"http://redis:6379", "redis://", "redis://host:port", "redis://h:0", "redis://h:70000",
          "redis://h/db1", "redis://:pw@", "redis://[::1", "redis://[]:6379"}) {
        try {
            parse_redis_url(url);
            FAIL() << url << " was accepted";
        } catch (const error& e) {
            EXPECT_EQ(e.kind(), errc::invalid_argument) << url;
            EXPECT_NE(std::string(e.what()).find("expected redis://"), std::string::npos)
                << e.what();
        }
    }
    try {
        parse_redis_url("redis://user:hunter2@h:notaport");
        FAIL() << "a bad port was accepted";
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("notaport"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace rotor::queue

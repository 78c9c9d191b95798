// Assembling DevTools messages from websocket reads: the size limit and the buffer's capacity.
#include "cdp/detail/incoming_message.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace rotor::cdp::detail {
namespace {

using step = incoming_message::step;

// What one websocket read does to the buffer.
void append(incoming_message& m, const std::string& bytes) {
    auto space = m.buffer().prepare(bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
    m.buffer().commit(bytes.size());
}

TEST(IncomingMessage, AMessageUnderTheLimitIsKeptWhole) {
    incoming_message m;
    append(m, R"({"id":1,)");
    EXPECT_EQ(m.on_read(false, 1000), step::more);
    append(m, R"("result":{}})");
    ASSERT_EQ(m.on_read(true, 1000), step::complete);
    EXPECT_EQ(m.text(), R"({"id":1,"result":{}})");
    m.next();
    EXPECT_EQ(m.size(), 0u);
}

TEST(IncomingMessage, AMessageOverTheLimitKeepsOnlyItsPrefixAndCountsTheRest) {
    incoming_message m;
    const std::string head = R"({"id":42,"result":{"value":")";
    append(m, head + std::string(100000, 'a'));
    EXPECT_EQ(m.on_read(false, 50000), step::more);
    EXPECT_EQ(m.buffer().size(), 0u) << "the bytes over the limit are not kept";
    for (int i = 0; i < 30; ++i) {
        append(m, std::string(100000, 'b'));
        EXPECT_EQ(m.on_read(false, 50000), step::more);
        EXPECT_EQ(m.buffer().size(), 0u);
    }
    append(m, R"("}})");
    ASSERT_EQ(m.on_read(true, 50000), step::oversized);
    EXPECT_EQ(m.size(), head.size() + 3100000 + 3);
    EXPECT_EQ(m.prefix().size(), incoming_message::kept_prefix);
    EXPECT_EQ(m.prefix().substr(0, head.size()), head);
    EXPECT_EQ(leading_id(m.prefix()), 42u);
    EXPECT_LT(m.capacity(), 2u * 100000 + 4096) << "the buffer held no more than one read";
    m.next();
    append(m, R"({"id":43,"result":{}})");
    ASSERT_EQ(m.on_read(true, 50000), step::complete) << "the next message is whole again";
    EXPECT_EQ(m.text(), R"({"id":43,"result":{}})");
}

TEST(IncomingMessage, NoLimitKeepsEverything) {
    incoming_message m;
    append(m, std::string(3000000, 'z'));
    ASSERT_EQ(m.on_read(true, 0), step::complete);
    EXPECT_EQ(m.text().size(), 3000000u);
}

TEST(IncomingMessage, TheBufferIsGivenBackAfterABigMessage) {
    incoming_message m;
    append(m, std::string(20u << 20, 'x'));
    ASSERT_EQ(m.on_read(true, 0), step::complete);
    EXPECT_GE(m.capacity(), 20u << 20);
    m.next();
    EXPECT_LE(m.capacity(), incoming_message::shrink_above);
    // A small message keeps its (small) buffer: no reallocation per message.
    append(m, std::string(1000, 'x'));
    ASSERT_EQ(m.on_read(true, 0), step::complete);
    m.next();
    EXPECT_GT(m.capacity(), 0u);
}

TEST(LeadingId, ReadsTheIdChromiumWritesFirst) {
    EXPECT_EQ(leading_id(R"({"id":7,"result":{}})"), 7u);
    EXPECT_EQ(leading_id(R"({ "id" : 18446744073709551615 , "result")"), 18446744073709551615u);
    EXPECT_EQ(leading_id(R"({"id":12})"), 12u);
    EXPECT_FALSE(leading_id(R"({"method":"Network.dataReceived","params":{)"));
    EXPECT_FALSE(leading_id(R"({"id":"7","result")"));
    EXPECT_FALSE(leading_id(R"({"id":123)")) << "cut off inside the number";
    EXPECT_FALSE(leading_id(R"({"id":-1,)"));
    EXPECT_FALSE(leading_id(""));
    EXPECT_FALSE(leading_id("[1,2]"));
}

} // namespace
} // namespace rotor::cdp::detail

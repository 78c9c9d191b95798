// The client's accounting and its handling of unusual messages, against real Chromium.
#include "browser_fixture.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

namespace rotor::test {
namespace {

using cdp::errc;
using cdp::json;
using std::chrono::milliseconds;
namespace asio = boost::asio;

TEST_F(BrowserTest, CommandsWithoutAReplyInTimeAreCountedAsTimeouts) {
    auto page = await_for(*browser_, browser_->new_page());
    const auto before = browser_->cdp()->stats();
    json params = {{"expression", "new Promise(() => {})"}, {"awaitPromise", true}};
    auto never = browser_->cdp()->async_call("Runtime.evaluate", params, page->session_id(),
                                             milliseconds(200), asio::use_future);
    EXPECT_THROW(never.get(), cdp::error);
    EXPECT_EQ(await_for(*browser_, page->evaluate("1 + 1")), 2);
    const auto after = browser_->cdp()->stats();
    EXPECT_EQ(after.timeouts - before.timeouts, 1u);
    EXPECT_EQ(after.pending, 0u);
}

TEST_F(BrowserTest, TheReadBufferShrinksAfterABigMessage) {
    auto page = await_for(*browser_, browser_->new_page());
    cdp::evaluate_options options;
    options.timeout = milliseconds(30000);
    const json big = await_for(*browser_, page->evaluate("'x'.repeat(20 * 1000 * 1000)", options));
    ASSERT_EQ(big.get_ref<const std::string&>().size(), 20u * 1000 * 1000);
    EXPECT_EQ(await_for(*browser_, page->evaluate("1 + 1")), 2);
    EXPECT_LT(browser_->cdp()->stats().read_buffer_capacity, 1u << 20);
}

TEST_F(BrowserTest, AReplyOverTheLimitFailsOnlyItsCommand) {
    auto page = await_for(*browser_, browser_->new_page());
    browser_->cdp()->set_max_message_bytes(1u << 20);
    try {
        await_for(*browser_, page->evaluate("'y'.repeat(3 * 1000 * 1000)"));
        FAIL() << "a 3 MB reply passed a 1 MiB limit";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::reply_too_large);
        EXPECT_NE(std::string(e.what()).find("Runtime.evaluate: reply of "), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find(" bytes exceeds the limit of 1048576 bytes"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_TRUE(browser_->is_connected());
    EXPECT_EQ(await_for(*browser_, page->evaluate("'still ' + 'here'")), "still here");
    const auto stats = browser_->cdp()->stats();
    EXPECT_EQ(stats.oversized, 1u);
    EXPECT_EQ(stats.pending, 0u);
    EXPECT_LT(stats.read_buffer_capacity, 2u << 20);
}

} // namespace
} // namespace rotor::test

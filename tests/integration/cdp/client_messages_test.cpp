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

} // namespace
} // namespace rotor::test

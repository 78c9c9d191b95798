// Navigation on busy pages: the document's status must not get lost among its subresources.
#include "browser_fixture.hpp"

#include <gtest/gtest.h>

namespace rotor::test {
namespace {

using std::chrono::milliseconds;
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

TEST_F(BrowserTest, TheDocumentStatusSurvivesEightHundredSubresources) {
    shop_.reset_stats();
    const std::string target = url("/many/800");
    cdp::navigation_result nav;
    milliseconds took{0};
    await_for(*browser_, [&]() -> asio::awaitable<void> {
        auto page = co_await browser_->new_page();
        const auto started = clock_type::now();
        nav = co_await page->navigate(target);
        took = std::chrono::duration_cast<milliseconds>(clock_type::now() - started);
        co_await page->close();
    }());
    EXPECT_EQ(shop_.stats()["requests_by_route"].value("dot", 0), 800) << "not a busy page";
    EXPECT_EQ(nav.status, 200) << "the document's response was dropped";
    EXPECT_EQ(nav.url, target);
    EXPECT_EQ(nav.mime_type, "text/html");
    RecordProperty("navigate_ms", static_cast<int>(took.count()));
}

} // namespace
} // namespace rotor::test

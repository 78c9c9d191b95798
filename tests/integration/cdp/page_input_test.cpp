// What a page does with input it cannot send or must pass through untouched.
#include "browser_fixture.hpp"
#include "cdp/event_waiter.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace rotor::test {
namespace {

using cdp::errc;
using cdp::json;
using std::chrono::milliseconds;
namespace asio = boost::asio;

struct failure {
    bool thrown = false;
    errc kind{};
    std::string what;
};

bool mentions(const failure& f, const std::string& text) {
    return f.what.find(text) != std::string::npos;
}

// A page string with a lone UTF-16 surrogate (half an emoji) comes back as "\ud800", which no
// JSON reader accepts: that reply fails its own command at once, it does not wait out the
// timeout, and the page keeps working.
TEST_F(BrowserTest, AReplyThatIsNotValidJsonFailsItsCommandAtOnce) {
    failure half;
    std::chrono::steady_clock::duration took{};
    const json after = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto page = co_await browser_->new_page();
        cdp::evaluate_options o;
        o.timeout = milliseconds(8000);
        const auto started = std::chrono::steady_clock::now();
        try {
            std::string expr = "'\\uD83D\\uDE00'.slice(0, 1)";
            co_await page->evaluate(std::move(expr), o);
        } catch (const cdp::error& e) {
            half = {true, e.kind(), e.what()};
        }
        took = std::chrono::steady_clock::now() - started;
        co_return co_await page->evaluate("1 + 1");
    }());
    ASSERT_TRUE(half.thrown);
    EXPECT_EQ(half.kind, errc::malformed_response) << half.what;
    EXPECT_TRUE(mentions(half, "Runtime.evaluate")) << half.what;
    EXPECT_LT(took, milliseconds(4000));
    EXPECT_EQ(after, 2);
}

TEST_F(BrowserTest, InvalidUtf8FailsOnlyThatCommand) {
    failure eval, nav, selector;
    std::size_t pending = 0;
    const json after = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto page = co_await browser_->new_page();
        try {
            co_await page->evaluate(std::string("\"\xff\""));
        } catch (const cdp::error& e) {
            eval = {true, e.kind(), e.what()};
        }
        try {
            co_await page->navigate("http://127.0.0.1:1/\xff");
        } catch (const cdp::error& e) {
            nav = {true, e.kind(), e.what()};
        }
        try {
            co_await page->wait_for_selector("#a\xff", milliseconds(1000));
        } catch (const cdp::error& e) {
            selector = {true, e.kind(), e.what()};
        }
        json two = co_await page->evaluate("1 + 1");
        pending = browser_->cdp()->stats().pending; // before the page closes itself
        co_return two;
    }());
    ASSERT_TRUE(eval.thrown);
    EXPECT_EQ(eval.kind, errc::invalid_argument);
    EXPECT_TRUE(mentions(eval, "Runtime.evaluate") && mentions(eval, "UTF-8")) << eval.what;
    ASSERT_TRUE(nav.thrown);
    EXPECT_EQ(nav.kind, errc::invalid_argument);
    EXPECT_TRUE(mentions(nav, "Page.navigate") && mentions(nav, "http://127.0.0.1:1/")) << nav.what;
    ASSERT_TRUE(selector.thrown);
    EXPECT_EQ(selector.kind, errc::invalid_argument) << selector.what;
    // The same page and browser go on working, and nothing was left pending.
    EXPECT_EQ(after, 2);
    EXPECT_TRUE(browser_->is_connected());
    EXPECT_EQ(pending, 0u);
}

TEST_F(BrowserTest, ThrowingEventHandlersAndPredicatesAreCountedNotFatal) {
    auto page = await_for(*browser_, browser_->new_page());
    cdp::event_handlers handlers;
    handlers.on_event = [](const json&) { throw std::runtime_error("handler bug"); };
    auto watch =
        browser_->cdp()->subscribe(page->session_id(), "Page.lifecycleEvent", std::move(handlers));
    cdp::event_waiter waiter(browser_->cdp(), page->session_id(), "Page.lifecycleEvent");
    // The function object itself goes to co_spawn (which keeps it): its capture outlives this
    // statement.
    auto waited = asio::co_spawn(
        browser_->get_executor(),
        [&waiter]() -> asio::awaitable<json> {
            cdp::event_waiter::predicate broken = [](const json&) -> bool {
                throw std::runtime_error("predicate bug");
            };
            std::string label = "lifecycle with a broken predicate";
            co_return co_await waiter.async_wait(std::move(broken), milliseconds(20000),
                                                 std::move(label), asio::use_awaitable);
        },
        asio::use_future);
    std::this_thread::sleep_for(milliseconds(100)); // armed before the events come
    const auto nav = await_for(*browser_, page->navigate(product_url(5)));
    EXPECT_EQ(nav.status, 200);
    ASSERT_EQ(waited.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    try {
        waited.get();
        FAIL() << "a wait whose predicate throws succeeded";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "predicate bug");
    }
    EXPECT_GE(browser_->cdp()->stats().handler_errors, 2u);
    EXPECT_EQ(await_for(*browser_, page->evaluate("1 + 1")), 2);
}

TEST_F(BrowserTest, AHandlerThrowingOnTheIoThreadIsLoggedAndTheThreadRunsOn) {
    asio::post(browser_->get_executor(), [] { throw std::runtime_error("stray handler bug"); });
    auto page = await_for(*browser_, browser_->new_page());
    EXPECT_EQ(await_for(*browser_, page->evaluate("6 * 7")), 42);
}

TEST_F(BrowserTest, CallFunctionPassesArgumentsAsData) {
    const std::string nasty = "quote \" apostrophe ' backslash \\ </script> '); alert(1); (' "
                              "${globalThis} `tick` \n line \u2028 end";
    const json object = {{"name", nasty},
                         {"n", 12.5},
                         {"list", {1, "two", nullptr, true}},
                         {"nested", {{"k", "</script><script>alert(2)</script>"}}}};
    json first, after_navigate, after_page_navigated_itself;
    await_for(*browser_, [&]() -> asio::awaitable<void> {
        auto page = co_await browser_->new_page();
        co_await page->navigate(product_url(5));
        json args = json::array({nasty, object});
        first = co_await page->call_function(
            "function (s, o) { return [s, o, typeof s, this === globalThis]; }", std::move(args));
        // A new document: the cached globalThis handle is dropped by navigate().
        co_await page->navigate(product_url(6));
        json one = json::array({nasty});
        after_navigate = co_await page->call_function(
            "async (s) => { await new Promise(r => setTimeout(r, 10)); "
            "return [s, location.pathname]; }",
            std::move(one));
        // The page navigates by itself: the cached handle is stale and fetched again.
        json target = {{"url", product_url(7)}};
        co_await page->send("Page.navigate", std::move(target));
        co_await page->wait_for_function(
            "location.pathname === '/product/7' && document.readyState === 'complete'",
            milliseconds(10000));
        json two = json::array({nasty, 2});
        after_page_navigated_itself =
            co_await page->call_function("(s, n) => [s.length, n * 21]", std::move(two));
    }());
    ASSERT_EQ(first.size(), 4u) << first.dump();
    EXPECT_EQ(first[0], nasty);
    EXPECT_EQ(first[1], object);
    EXPECT_EQ(first[2], "string");
    EXPECT_EQ(first[3], true);
    EXPECT_EQ(after_navigate, json::array({nasty, "/product/6"}));
    // U+2028 is three bytes in UTF-8 and one UTF-16 unit in JavaScript.
    EXPECT_EQ(after_page_navigated_itself, json::array({nasty.size() - 2, 42}));
}

TEST_F(BrowserTest, CallFunctionReportsBadArgumentsExceptionsAndTimeouts) {
    failure not_array, thrown, timed_out;
    json alive;
    await_for(*browser_, [&]() -> asio::awaitable<void> {
        auto page = co_await browser_->new_page();
        try {
            json not_a_list = {{"a", 1}};
            co_await page->call_function("(a) => a", std::move(not_a_list));
        } catch (const cdp::error& e) {
            not_array = {true, e.kind(), e.what()};
        }
        try {
            json args = json::array({"boom 23"});
            co_await page->call_function("(m) => { throw new Error(m); }", std::move(args));
        } catch (const cdp::error& e) {
            thrown = {true, e.kind(), e.what()};
        }
        try {
            cdp::evaluate_options quick;
            quick.timeout = milliseconds(500);
            json none = json::array();
            co_await page->call_function("() => { for (;;) {} }", std::move(none), quick);
        } catch (const cdp::error& e) {
            timed_out = {true, e.kind(), e.what()};
        }
        json numbers = json::array({40, 2});
        alive = co_await page->call_function("(a, b) => a + b", std::move(numbers));
    }());
    EXPECT_EQ(not_array.kind, errc::invalid_argument) << not_array.what;
    EXPECT_EQ(thrown.kind, errc::evaluation_failed) << thrown.what;
    EXPECT_TRUE(mentions(thrown, "boom 23")) << thrown.what;
    EXPECT_EQ(timed_out.kind, errc::timeout) << timed_out.what;
    EXPECT_TRUE(mentions(timed_out, "timeout after 500 ms (script terminated)")) << timed_out.what;
    EXPECT_EQ(alive, 42) << "the spinning script was terminated";
}

} // namespace
} // namespace rotor::test

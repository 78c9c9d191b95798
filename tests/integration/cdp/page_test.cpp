// The CDP client against real Chromium and the fixture shop.
#include "browser_fixture.hpp"
#include "catalog.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace rotor::test {
namespace {

using cdp::errc;
using cdp::json;
using std::chrono::milliseconds;
namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

TEST_F(BrowserTest, ReportsItsVersion) {
    const json version = await_for(*browser_, browser_->version());
    EXPECT_NE(version.value("product", "").find("Chrome/"), std::string::npos) << version.dump();
    EXPECT_GE(browser_->process_ids().size(), 2u); // browser plus at least a zygote/utility
}

TEST_F(BrowserTest, NavigatesAndReadsTheLatePriceWithAWait) {
    const auto p = fixture::product_for(4321);
    const std::string target = product_url(p.id);
    const json read = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto page = co_await browser_->new_page();
        auto nav = co_await page->navigate(target);
        EXPECT_EQ(nav.status, 200);
        EXPECT_EQ(nav.url, target);
        std::string name_expr = "document.querySelector('.product-name').textContent";
        json name = co_await page->evaluate(std::move(name_expr));
        std::string price_expr = "document.querySelector('#price').textContent";
        json before = co_await page->evaluate(price_expr);
        std::string ready = "document.querySelector('#price').textContent.length > 0";
        co_await page->wait_for_function(std::move(ready), milliseconds(5000));
        json after = co_await page->evaluate(std::move(price_expr));
        co_await page->close();
        co_return json{{"name", name}, {"before", before}, {"after", after}};
    }());
    EXPECT_EQ(read["name"], p.name);
    // load fires before the price timer (DOMContentLoaded + >=100 ms) only sometimes; what
    // matters is that the wait makes the price readable.
    EXPECT_EQ(read["after"], fixture::format_price(p.price));
}

TEST_F(BrowserTest, NotFoundIsAStatusAndThePageStaysReadable) {
    const json read = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto page = co_await browser_->new_page();
        auto nav = co_await page->navigate(product_url(404001));
        std::string html = co_await page->content();
        co_await page->close();
        co_return json{{"status", nav.status}, {"html", html}};
    }());
    EXPECT_EQ(read["status"], 404);
    EXPECT_NE(read["html"].get<std::string>().find("404001"), std::string::npos);
}

TEST_F(BrowserTest, RedirectChainReportsTheFinalUrl) {
    const auto nav = await_for(*browser_, [&]() -> asio::awaitable<cdp::navigation_result> {
        auto page = co_await browser_->new_page();
        auto result = co_await page->navigate(product_url(704002));
        co_await page->close();
        co_return result;
    }());
    EXPECT_EQ(nav.status, 200);
    EXPECT_EQ(nav.url, product_url(704002) + "?from=redirect");
    EXPECT_EQ(shop_.stats()["requests_by_route"]["redirect"], fixture::redirect_hops);
}

// A port nobody listens on: bound by the kernel, then released.
unsigned short closed_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

TEST_F(BrowserTest, NetErrorsAreNavigationFailures) {
    const std::string target = "http://127.0.0.1:" + std::to_string(closed_port()) + "/unreachable";
    try {
        await_for(*browser_, [&]() -> asio::awaitable<void> {
            auto page = co_await browser_->new_page();
            co_await page->navigate(target);
        }());
        FAIL() << "navigation to a closed port succeeded";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::navigation_failed);
        EXPECT_NE(std::string(e.what()).find("net::ERR_CONNECTION_REFUSED"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find(target), std::string::npos);
    }
}

TEST_F(BrowserTest, NeverFinishingPageTimesOutOnTime) {
    // Only the navigation is timed (opening the page is not part of its deadline), and the upper
    // bound asks "did the 2 s deadline end it, not something else" (the default deadline is 30 s)
    // instead of how fast a loaded sanitizer build answers.
    clock_type::duration took{};
    try {
        await_for(*browser_, [&]() -> asio::awaitable<void> {
            auto page = co_await browser_->new_page();
            cdp::navigate_options options;
            options.timeout = milliseconds(2000);
            const auto started = clock_type::now();
            try {
                co_await page->navigate(product_url(701001), options);
            } catch (...) {
                took = clock_type::now() - started;
                throw;
            }
        }());
        FAIL() << "a page that never loads reported load";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::timeout);
        EXPECT_NE(std::string(e.what()).find("timeout after 2000 ms (waiting for load)"),
                  std::string::npos)
            << e.what();
    }
    // The wait's budget is whole milliseconds of what is left: up to a millisecond short.
    EXPECT_GE(took, milliseconds(1990));
    EXPECT_LT(took, milliseconds(10000));
}

TEST_F(BrowserTest, DomContentLoadedDoesNotWaitForTheHangingImage) {
    const int status = await_for(*browser_, [&]() -> asio::awaitable<int> {
        auto page = co_await browser_->new_page();
        cdp::navigate_options options;
        options.wait = cdp::wait_until::dom_content_loaded;
        options.timeout = milliseconds(5000);
        auto nav = co_await page->navigate(product_url(701002), options);
        co_return nav.status;
    }());
    EXPECT_EQ(status, 200);
}

TEST_F(BrowserTest, InfiniteLoopTimesOutAndTheBrowserStaysUsable) {
    const json read = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto stuck = co_await browser_->new_page();
        cdp::navigate_options options;
        options.timeout = milliseconds(3000);
        std::string error;
        try {
            co_await stuck->navigate(product_url(703001), options);
        } catch (const cdp::error& e) {
            error = e.what();
        }
        // The spinning script was terminated: the same page answers again.
        cdp::evaluate_options quick;
        quick.timeout = milliseconds(5000);
        json same = co_await stuck->evaluate("6 * 7", quick);
        co_await stuck->close();
        // And a fresh page works normally.
        auto fresh = co_await browser_->new_page();
        auto nav = co_await fresh->navigate(product_url(55));
        co_await fresh->close();
        co_return json{{"error", error}, {"same", same}, {"fresh", nav.status}};
    }());
    EXPECT_NE(read["error"].get<std::string>().find("timeout after 3000 ms"), std::string::npos)
        << read.dump();
    EXPECT_EQ(read["same"], 42);
    EXPECT_EQ(read["fresh"], 200);
}

TEST_F(BrowserTest, EvaluationTimeoutTerminatesTheScript) {
    const json read = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto page = co_await browser_->new_page();
        cdp::evaluate_options options;
        options.timeout = milliseconds(500);
        std::string error;
        const auto started = clock_type::now();
        try {
            co_await page->evaluate("for (;;) {}", options);
        } catch (const cdp::error& e) {
            error = e.what();
            EXPECT_EQ(e.kind(), errc::timeout);
        }
        const auto took =
            std::chrono::duration_cast<milliseconds>(clock_type::now() - started).count();
        json after = co_await page->evaluate("'alive'");
        co_return json{{"error", error}, {"took", took}, {"after", after}};
    }());
    EXPECT_NE(read["error"].get<std::string>().find("timeout after 500 ms"), std::string::npos);
    EXPECT_LT(read["took"].get<int>(), 1500);
    EXPECT_EQ(read["after"], "alive");
}

TEST_F(BrowserTest, ScriptExceptionsAreEvaluationErrors) {
    try {
        await_for(*browser_, [&]() -> asio::awaitable<void> {
            auto page = co_await browser_->new_page();
            co_await page->evaluate("(() => { throw new Error('boom 17'); })()");
        }());
        FAIL() << "no exception";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::evaluation_failed);
        EXPECT_NE(std::string(e.what()).find("boom 17"), std::string::npos) << e.what();
    }
}

TEST_F(BrowserTest, AsyncFunctionsAreAwaited) {
    const json value = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto page = co_await browser_->new_page();
        co_return co_await page->call_function(
            "async () => { await new Promise(r => setTimeout(r, 50)); return {a: [1, 2]}; }");
    }());
    EXPECT_EQ(value, json::parse(R"({"a":[1,2]})"));
}

TEST_F(BrowserTest, WaitForSelectorTimesOutWhenNothingAppears) {
    try {
        await_for(*browser_, [&]() -> asio::awaitable<void> {
            auto page = co_await browser_->new_page();
            co_await page->wait_for_selector("#never-there", milliseconds(300));
        }());
        FAIL() << "no timeout";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::timeout);
        EXPECT_NE(std::string(e.what()).find("#never-there"), std::string::npos) << e.what();
    }
}

TEST_F(BrowserTest, HundredConcurrentEvaluationsOnEightPagesFromEightThreads) {
    constexpr int pages = 8;
    constexpr int per_page = 13; // 104 evaluations in flight together
    std::vector<std::shared_ptr<cdp::page>> opened;
    for (int i = 0; i < pages; ++i) {
        opened.push_back(
            await_for(*browser_, [&, i]() -> asio::awaitable<std::shared_ptr<cdp::page>> {
                auto page = co_await browser_->new_page();
                std::string tag = "window.__tag = " + std::to_string(i);
                co_await page->evaluate(std::move(tag));
                co_return page;
            }()));
    }
    std::atomic<int> wrong{0};
    std::atomic<int> right{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < pages; ++t) {
        threads.emplace_back([&, t] {
            std::vector<std::future<json>> results;
            for (int k = 0; k < per_page; ++k) {
                // Called from this plain thread: completions come back through the future.
                std::string expr = "new Promise(r => setTimeout(() => r({page: window.__tag, k: " +
                                   std::to_string(k) + "}), " + std::to_string(k % 5) + "))";
                results.push_back(asio::co_spawn(
                    browser_->get_executor(),
                    [](std::shared_ptr<cdp::page> p, std::string e) -> asio::awaitable<json> {
                        co_return co_await p->evaluate(std::move(e));
                    }(opened[static_cast<std::size_t>(t)], std::move(expr)),
                    asio::use_future));
            }
            for (int k = 0; k < per_page; ++k) {
                const json r = results[static_cast<std::size_t>(k)].get();
                (r == json{{"page", t}, {"k", k}} ? right : wrong)++;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(right.load(), pages * per_page);
}

TEST_F(BrowserTest, CallsFromPlainThreadsWorkThroughFutures) {
    auto page = await_for(*browser_, browser_->new_page());
    std::vector<std::thread> threads;
    std::atomic<int> right{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; ++i) {
                json params = {{"expression", std::to_string(t * 100 + i)},
                               {"returnByValue", true}};
                auto f = browser_->cdp()->async_call("Runtime.evaluate", params, page->session_id(),
                                                     milliseconds(5000), asio::use_future);
                if (f.get()["result"]["value"] == t * 100 + i) ++right;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(right.load(), 40);
}

TEST_F(BrowserTest, BlockingImagesStopsImageRequests) {
    shop_.reset_stats();
    const auto blocked = await_for(*browser_, [&]() -> asio::awaitable<std::uint64_t> {
        auto page = co_await browser_->new_page();
        cdp::block_options block;
        block.types = {cdp::resource_type::image, cdp::resource_type::font};
        co_await page->block(block);
        co_await page->navigate(product_url(901));
        const auto n = page->blocked_requests();
        co_await page->close();
        co_return n;
    }());
    auto stats = shop_.stats();
    EXPECT_EQ(stats["requests_by_route"].value("image", 0), 0) << stats.dump();
    EXPECT_EQ(stats["requests_by_route"].value("font", 0), 0) << stats.dump();
    EXPECT_EQ(stats["requests_by_route"].value("product", 0), 1);
    EXPECT_GE(blocked, static_cast<std::uint64_t>(fixture::images_per_page));

    // The same page without blocking loads every image: the check above can fail.
    shop_.reset_stats();
    await_for(*browser_, [&]() -> asio::awaitable<void> {
        auto page = co_await browser_->new_page();
        co_await page->navigate(product_url(902));
        co_await page->close();
    }());
    stats = shop_.stats();
    EXPECT_EQ(stats["requests_by_route"].value("image", 0), fixture::images_per_page);
}

TEST_F(BrowserTest, BlockingUrlPatterns) {
    shop_.reset_stats();
    await_for(*browser_, [&]() -> asio::awaitable<void> {
        auto page = co_await browser_->new_page();
        cdp::block_options block;
        block.url_patterns = {"*.css"};
        co_await page->block(block);
        co_await page->navigate(product_url(903));
        co_await page->close();
    }());
    const auto stats = shop_.stats();
    EXPECT_EQ(stats["requests_by_route"].value("stylesheet", 0), 0) << stats.dump();
    EXPECT_EQ(stats["requests_by_route"].value("image", 0), fixture::images_per_page);
}

TEST_F(BrowserTest, ExtraHeadersUserAgentAndViewport) {
    const json read = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto page = co_await browser_->new_page();
        std::map<std::string, std::string> extra = {{"X-Rotor-Test", "yes"}};
        co_await page->set_extra_headers(std::move(extra));
        co_await page->set_user_agent("rotor-test-agent/1.0");
        const cdp::viewport phone{412, 915, 2.0, false};
        co_await page->set_viewport(phone);
        co_await page->navigate(url("/echo/headers"));
        json headers = co_await page->evaluate("JSON.parse(document.body.innerText)");
        json size = co_await page->evaluate("[window.innerWidth, window.devicePixelRatio]");
        co_return json{{"headers", headers}, {"size", size}};
    }());
    EXPECT_EQ(read["headers"]["x-rotor-test"], "yes") << read.dump();
    EXPECT_EQ(read["headers"]["user-agent"], "rotor-test-agent/1.0");
    EXPECT_EQ(read["size"], json::parse("[412, 2]"));
}

TEST_F(BrowserTest, ScreenshotIsAPng) {
    const std::string png = await_for(*browser_, [&]() -> asio::awaitable<std::string> {
        auto page = co_await browser_->new_page();
        co_await page->navigate(product_url(7));
        co_return co_await page->screenshot();
    }());
    ASSERT_GT(png.size(), 1000u);
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_F(BrowserTest, ContextsIsolateAndDisposeTheirPages) {
    const json read = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto a = co_await browser_->new_context();
        auto b = co_await browser_->new_context();
        auto pa = co_await a->new_page();
        auto pb = co_await b->new_page();
        co_await pa->navigate(product_url(11));
        co_await pb->navigate(product_url(12));
        co_await pa->evaluate("localStorage.setItem('k', 'from-a')");
        json seen_b = co_await pb->evaluate("localStorage.getItem('k')");
        json targets = co_await browser_->targets();
        int in_a = 0;
        for (const auto& t : targets) {
            if (t.value("browserContextId", "") == a->id() && t.value("type", "") == "page") ++in_a;
        }
        co_await a->dispose();
        json after = co_await browser_->targets();
        int left_a = 0;
        for (const auto& t : after) {
            if (t.value("browserContextId", "") == a->id()) ++left_a;
        }
        co_await b->dispose();
        co_return json{{"seen_b", seen_b}, {"in_a", in_a}, {"left_a", left_a}};
    }());
    EXPECT_TRUE(read["seen_b"].is_null()) << read.dump();
    EXPECT_EQ(read["in_a"], 1);
    EXPECT_EQ(read["left_a"], 0);
}

TEST_F(BrowserTest, ClosingPagesDropsTheirSubscriptions) {
    const auto before = browser_->cdp()->stats().subscriptions;
    std::vector<std::string> opened;
    await_for(*browser_, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 20; ++i) {
            auto page = co_await browser_->new_page();
            opened.push_back(page->target_id());
            co_await page->navigate(product_url(static_cast<std::uint64_t>(100 + i)));
            co_await page->close();
        }
    }());
    // Each page held subscriptions while open; none is left behind.
    EXPECT_EQ(browser_->cdp()->stats().subscriptions, before);
    EXPECT_EQ(browser_->cdp()->stats().pending, 0u);
    const json targets = await_for(*browser_, browser_->targets());
    for (const auto& t : targets) {
        EXPECT_EQ(std::count(opened.begin(), opened.end(), t.value("targetId", "")), 0)
            << "closed page still listed: " << t.dump();
    }
}

TEST_F(BrowserTest, CommandTimeoutFailsOnlyThatCommand) {
    auto page = await_for(*browser_, browser_->new_page());
    const auto started = clock_type::now();
    json params = {{"expression", "new Promise(() => {})"}, {"awaitPromise", true}};
    auto never = browser_->cdp()->async_call("Runtime.evaluate", params, page->session_id(),
                                             milliseconds(300), asio::use_future);
    try {
        never.get();
        FAIL() << "no timeout";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::timeout);
        EXPECT_NE(std::string(e.what()).find("Runtime.evaluate: no reply within 300 ms"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_LT(clock_type::now() - started, milliseconds(1500));
    EXPECT_EQ(await_for(*browser_, page->evaluate("1 + 1")), 2);
}

} // namespace
} // namespace rotor::test

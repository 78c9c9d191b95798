// Page profiles against real Chromium, the fixture shop on 127.0.0.1 and a second shop on
// 127.0.0.2 that stands for a host off the list: its /__stats says whether it was reached.
#include "catalog.hpp"
#include "page_profile_fixture.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rotor::test {
namespace {

using cdp::errc;
using cdp::json;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
namespace asio = boost::asio;

TEST_F(ProfileTest, HeadersUserAgentAndCookiesReachTheShop) {
    auto profile = shop_profile();
    profile.headers = {{"X-Rotor-Platform", "shop-a"}};
    profile.user_agent = "rotor-profile/1.0 (shop-a)";
    profile.cookies = {{"session", "a1", "127.0.0.1"},
                       {"hidden", "h", "127.0.0.1", "/", false, true}};
    const json got = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto p = co_await profiled_page(co_await browser_->new_context(), profile);
        json headers = co_await echoed_headers(p, url("/echo/headers"));
        json agent = co_await p->evaluate("navigator.userAgent");
        json visible = co_await p->evaluate("document.cookie");
        co_return json{{"headers", headers}, {"agent", agent}, {"visible", visible}};
    }());
    const json& headers = got["headers"];
    EXPECT_EQ(headers.value("x-rotor-platform", ""), "shop-a") << headers.dump();
    EXPECT_EQ(headers.value("user-agent", ""), "rotor-profile/1.0 (shop-a)");
    EXPECT_EQ(got["agent"], "rotor-profile/1.0 (shop-a)");
    EXPECT_THAT(headers.value("cookie", ""), HasSubstr("session=a1"));
    EXPECT_THAT(headers.value("cookie", ""), HasSubstr("hidden=h"));
    EXPECT_EQ(got["visible"], "session=a1"); // http_only stays out of document.cookie
}

TEST_F(ProfileTest, ViewportApplies) {
    auto profile = shop_profile();
    profile.view = cdp::viewport{412, 915, 2.0, false};
    const json got = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto p = co_await profiled_page(co_await browser_->new_context(), profile);
        co_await p->navigate(url("/health"));
        co_return co_await p->evaluate("[innerWidth, innerHeight, devicePixelRatio]");
    }());
    EXPECT_EQ(got, json({412, 915, 2.0}));
}

TEST_F(ProfileTest, BlockedTypesAndPatternsNeverReachTheShop) {
    auto profile = shop_profile();
    profile.block_types = {cdp::resource_type::image, cdp::resource_type::font};
    profile.block_url_patterns = {"*://*:*/static/*.css"};
    const auto counts = await_for(*browser_, [&]() -> asio::awaitable<cdp::profile_counts> {
        auto p = co_await profiled_page(co_await browser_->new_context(), profile);
        auto nav = co_await p->navigate(product_url(4321));
        EXPECT_EQ(nav.status, 200);
        co_return cdp::blocked_counts(*p);
    }());
    const json routes = shop_.stats()["requests_by_route"];
    EXPECT_EQ(routes.value("product", 0), 1) << routes.dump();
    EXPECT_EQ(routes.value("image", 0), 0) << routes.dump();
    EXPECT_EQ(routes.value("font", 0), 0) << routes.dump();
    EXPECT_EQ(routes.value("stylesheet", 0), 0) << routes.dump();
    // The font is requested by the stylesheet, which is blocked: only images reach Fetch.
    EXPECT_GE(counts.blocked_types, static_cast<std::uint64_t>(fixture::images_per_page));
    EXPECT_GE(counts.blocked_by_rules, 1u); // the stylesheet, without a round trip
    EXPECT_EQ(counts.refused_documents, 0u);
}

TEST_F(ProfileTest, RefusedUrlsAreRefusedBeforeAnythingIsSent) {
    cdp::page_profile profile; // no hosts listed: only the always-refused ones and private ones
    profile.name = "open";
    const std::vector<std::pair<std::string, std::string>> refused = {
        {"file:///etc/passwd", "scheme file: is never allowed"},
        {"chrome://version", "scheme chrome: is never allowed"},
        {"data:text/html,<b>hi</b>", "scheme data: is never allowed"},
        {"http://169.254.169.254/latest/meta-data/", "link-local address"},
        {"http://[fd00::1]/", "unique local address"},
        {"http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host"},
        {other("/health"), "127.0.0.2 is a loopback address"},
        {"not a url", "not a URL"}};
    const auto commands_before = browser_->cdp()->stats().commands;
    const auto counts = await_for(*browser_, [&]() -> asio::awaitable<cdp::profile_counts> {
        auto p = co_await profiled_page(co_await browser_->new_context(), profile);
        const auto sent = browser_->cdp()->stats().commands;
        for (const auto& [target, reason] : refused) {
            try {
                co_await p->navigate(target);
                ADD_FAILURE() << "navigated to " << target;
            } catch (const cdp::error& e) {
                EXPECT_EQ(e.kind(), errc::navigation_failed) << e.what();
                EXPECT_THAT(e.what(), HasSubstr("navigate " + target +
                                                ": refused: page profile "
                                                "open: "));
                EXPECT_THAT(e.what(), HasSubstr(reason));
            }
        }
        EXPECT_EQ(browser_->cdp()->stats().commands, sent) << "a refused URL sent a command";
        co_return cdp::blocked_counts(*p);
    }());
    EXPECT_GT(browser_->cdp()->stats().commands, commands_before); // the profile's own commands
    EXPECT_EQ(counts.refused_navigations, refused.size());
    EXPECT_EQ(other_requests(), 0u);
}

TEST_F(ProfileTest, UnusableProfilesAreRefusedNamingWhat) {
    auto expect_refused = [&](cdp::page_profile profile, const std::string& what) {
        try {
            await_for(*browser_, [&]() -> asio::awaitable<void> {
                co_await profiled_page(co_await browser_->new_context(), profile);
            }());
            ADD_FAILURE() << "accepted a profile with " << what;
        } catch (const cdp::error& e) {
            EXPECT_EQ(e.kind(), errc::invalid_profile) << e.what();
            EXPECT_THAT(e.what(), HasSubstr("page profile bad: "));
            EXPECT_THAT(e.what(), HasSubstr(what));
        }
    };
    cdp::page_profile url_host;
    url_host.name = "bad";
    url_host.allowed_hosts = {"https://shop.example/"};
    expect_refused(url_host, "allowed_hosts entry \"https://shop.example/\"");
    cdp::page_profile pattern;
    pattern.name = "bad";
    pattern.block_url_patterns = {"*.png"};
    expect_refused(pattern, "\"*.png\" failed to parse as a URLPattern");
    cdp::page_profile no_domain;
    no_domain.name = "bad";
    no_domain.cookies = {{"session", "1", ""}};
    expect_refused(no_domain, "cookie #0 (session): needs a domain");
}

} // namespace
} // namespace rotor::test

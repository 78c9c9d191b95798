// A page whose profile lists 127.0.0.1 never reaches 127.0.0.2 (a second shop, whose stats must
// stay at zero) through a navigation, a redirect, an iframe, a subresource, a worker or a
// WebSocket, while the same routes pointed at 127.0.0.1 load.
#include "page_profile_fixture.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rotor::test {
namespace {

using cdp::errc;
using cdp::json;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace asio = boost::asio;

TEST_F(ProfileTest, OffListHostIsNeverReachedThroughRedirectFrameSubresourceOrWorker) {
    const std::string off_list = other("/health");
    const auto probes = await_for(
        *browser_,
        [&]() -> asio::awaitable<json> {
            auto p = co_await profiled_page(co_await browser_->new_context(), shop_profile());
            json seen = json::object();
            // A redirect of the main frame: the hop to 127.0.0.2 is failed through Fetch.
            try {
                co_await p->navigate(url("/redirect-to?url=" + encode(off_list)));
                seen["redirect"] = "navigated";
            } catch (const cdp::error& e) {
                seen["redirect"] = e.what();
            }
            auto allowed_redirect =
                co_await p->navigate(url("/redirect-to?url=" + encode(url("/health"))));
            seen["allowed_redirect"] = allowed_redirect.url;
            // Each probe page, pointed off the list and then at the allowed shop.
            const std::vector<std::pair<std::string, std::string>> pages = {
                {"frame", "/frame?src="},
                {"img", "/subresource?src="},
                {"script", "/subresource?kind=script&src="},
                {"fetch", "/subresource?kind=fetch&src="},
                {"worker", "/worker?src="}};
            for (const auto& [name, route] : pages) {
                const std::string target = name == "img" ? "/img/1/1.svg" : "/echo/headers";
                co_await p->navigate(url(route + encode(other(target))));
                seen[name] = co_await probe_result(p);
                co_await p->navigate(url(route + encode(url(target))));
                seen["allowed_" + name] = co_await probe_result(p);
                if (name == "frame") {
                    // What the allowed iframe shows (same origin: readable).
                    std::string read = "document.getElementById('child').contentDocument.body."
                                       "innerText";
                    seen["allowed_frame_text"] = co_await p->evaluate(std::move(read));
                }
            }
            const auto counts = cdp::blocked_counts(*p);
            seen["refused_documents"] = counts.refused_documents;
            seen["blocked_by_rules"] = counts.blocked_by_rules;
            seen["paused"] = counts.paused;
            co_return seen;
        }(),
        std::chrono::seconds(90));
    EXPECT_EQ(other_requests(), 0u) << other_.stats().dump() << "\n" << probes.dump(1);

    EXPECT_THAT(probes["redirect"].get<std::string>(), HasSubstr("net::ERR_BLOCKED_BY_CLIENT"));
    EXPECT_EQ(probes["allowed_redirect"], url("/health"));
    EXPECT_EQ(probes["img"], "error");
    EXPECT_EQ(probes["allowed_img"], "loaded");
    EXPECT_EQ(probes["script"], "error");
    EXPECT_EQ(probes["allowed_script"], "loaded"); // fetched (JSON: then a syntax error)
    EXPECT_THAT(probes["fetch"].get<std::string>(), StartsWith("error TypeError"));
    EXPECT_EQ(probes["allowed_fetch"], "loaded");
    EXPECT_THAT(probes["worker"].get<std::string>(), StartsWith("error TypeError"));
    EXPECT_THAT(probes["allowed_worker"].get<std::string>(), StartsWith("fetched basic {"));
    EXPECT_THAT(probes["allowed_frame_text"].get<std::string>(), HasSubstr("\"user-agent\""));
    EXPECT_GE(probes["refused_documents"], 2); // the redirect hop and the iframe
    EXPECT_GE(probes["blocked_by_rules"], 4);  // img, script, fetch, the worker's fetch
    const json routes = shop_.stats()["requests_by_route"];
    EXPECT_GE(routes.value("echo", 0), 4) << routes.dump(); // frame, script, fetch, worker
    EXPECT_GE(routes.value("image", 0), 1) << routes.dump();
}

TEST_F(ProfileTest, OutOfProcessFramesAndWorkersCarryTheRulesAndHeaders) {
    // localhost is another site than 127.0.0.1: its iframe is a separate target (auto-attached).
    auto profile = shop_profile();
    profile.allowed_hosts.push_back("localhost");
    profile.headers = {{"X-Rotor-Platform", "shop-b"}};
    const std::string localhost = "http://localhost:" + std::to_string(shop_.port());
    const json got = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto p = co_await profiled_page(co_await browser_->new_context(), profile);
        const std::string inner = localhost + "/subresource?src=" + encode(other("/img/1/2.svg"));
        co_await p->navigate(url("/frame?src=" + encode(inner)));
        co_await probe_result(p); // the iframe settled
        // The child's image fails in the child's own session.
        for (int i = 0; i < 100 && cdp::blocked_counts(*p).blocked_by_rules == 0; ++i) {
            co_await p->evaluate("new Promise(r => setTimeout(r, 50))");
        }
        co_await p->navigate(url("/worker?src=" + encode(url("/echo/headers"))));
        std::string worker = co_await probe_result(p);
        const auto counts = cdp::blocked_counts(*p);
        co_return json{{"worker", worker},
                       {"children", counts.children},
                       {"children_failed", counts.children_failed},
                       {"blocked_by_rules", counts.blocked_by_rules}};
    }());
    EXPECT_EQ(other_requests(), 0u) << other_.stats().dump();
    EXPECT_GE(got["children"], 2) << got.dump(); // the iframe and the worker
    EXPECT_EQ(got["children_failed"], 0);
    EXPECT_GE(got["blocked_by_rules"], 1) << "the iframe's image was not blocked in its session";
    const std::string worker = got["worker"];
    ASSERT_THAT(worker, StartsWith("fetched basic ")) << worker;
    const json headers = json::parse(worker.substr(std::string("fetched basic ").size()));
    EXPECT_EQ(headers.value("x-rotor-platform", ""), "shop-b") << headers.dump();
}

TEST_F(ProfileTest, WebSocketsAreStoppedOnlyByTheProfileContext) {
    auto profile = shop_profile();
    // /echo/headers answers the handshake with 200: the socket fails, and the route counts it.
    const std::string off_list =
        "ws://127.0.0.2:" + std::to_string(other_.port()) + "/echo/headers";
    const std::string allowed = "ws://127.0.0.1:" + std::to_string(shop_.port()) + "/echo/headers";
    auto probe = [&](bool locked, const std::string& target) {
        return await_for(*browser_, [&]() -> asio::awaitable<std::string> {
            std::shared_ptr<cdp::browser_context> context;
            // Not a conditional expression: GCC 12 miscompiles co_await inside one.
            if (locked) {
                context = co_await cdp::create_profile_context(browser_->cdp(), profile,
                                                               browser_->command_timeout());
            } else {
                context = co_await browser_->new_context();
            }
            auto p = co_await profiled_page(context, profile);
            co_await p->navigate(url("/subresource?kind=websocket&src=" + encode(target)));
            std::string result = co_await probe_result(p);
            co_await context->dispose();
            co_return result;
        }());
    };
    EXPECT_EQ(probe(true, off_list), "error");
    EXPECT_EQ(other_requests(), 0u) << "the profile context let a WebSocket out";
    EXPECT_EQ(probe(true, allowed), "error");
    EXPECT_EQ(shop_.stats()["requests_by_route"].value("echo", 0), 1) << shop_.stats().dump();
    // Page rules alone: Chromium neither blocks (setBlockedURLs) nor pauses (Fetch) WebSockets.
    // If this starts failing, Chromium began to, and the context is no longer the only guard.
    EXPECT_EQ(probe(false, off_list), "error");
    EXPECT_EQ(other_requests(), 1u);
}

TEST_F(ProfileTest, TwoProfilesOnOneBrowserKeepTheirOwnSettings) {
    auto make = [&](const std::string& name) {
        auto p = shop_profile(name);
        p.headers = {{"X-Rotor-Platform", name}};
        p.user_agent = "agent-" + name;
        p.cookies = {{"platform", name, "127.0.0.1"}};
        return p;
    };
    const auto one = make("alpha");
    const auto two = make("bravo");
    EXPECT_NE(one.key(), two.key());
    const json got = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto first = co_await profiled_page(
            co_await cdp::create_profile_context(browser_->cdp(), one, browser_->command_timeout()),
            one);
        auto second = co_await profiled_page(
            co_await cdp::create_profile_context(browser_->cdp(), two, browser_->command_timeout()),
            two);
        // Interleaved on purpose: both pages live at once on one browser.
        json a = co_await echoed_headers(first, url("/echo/headers"));
        json b = co_await echoed_headers(second, url("/echo/headers"));
        json a_again = co_await echoed_headers(first, url("/echo/headers?again"));
        co_return json{{"alpha", a}, {"bravo", b}, {"alpha_again", a_again}};
    }());
    for (const char* name : {"alpha", "bravo"}) {
        const std::string own = name;
        const std::string foreign = own == "alpha" ? "bravo" : "alpha";
        const json& h = got[own];
        EXPECT_EQ(h.value("x-rotor-platform", ""), own) << h.dump();
        EXPECT_EQ(h.value("user-agent", ""), "agent-" + own);
        EXPECT_EQ(h.value("cookie", ""), "platform=" + own) << h.dump();
        EXPECT_EQ(h.dump().find(foreign), std::string::npos) << h.dump();
    }
    EXPECT_EQ(got["alpha_again"].value("cookie", ""), "platform=alpha");
}

// Why documents go through Fetch: Chromium 156's setBlockedURLs blocks subresources only, not a
// navigation, a redirect hop or an iframe. If this starts failing, Chromium began to, and the
// Document pauses (one round trip per document) may be dropped.
TEST_F(ProfileTest, BlockedUrlRulesAloneDoNotStopNavigationsRedirectsOrFrames) {
    const std::uint64_t reached = await_for(*browser_, [&]() -> asio::awaitable<std::uint64_t> {
        auto p = co_await (co_await browser_->new_context())->new_page();
        json rules = {{"urlPatterns",
                       {{{"urlPattern", "*://127.0.0.1:*/*"}, {"block", false}},
                        {{"urlPattern", "*://*:*/*"}, {"block", true}}}}};
        co_await p->send("Network.setBlockedURLs", std::move(rules));
        co_await p->navigate(url("/subresource?src=" + encode(other("/img/1/1.svg"))));
        EXPECT_EQ(co_await probe_result(p), "error"); // a subresource: blocked
        EXPECT_EQ(other_requests(), 0u);
        co_await p->navigate(other("/health"));
        co_await p->navigate(url("/redirect-to?url=" + encode(other("/health"))));
        co_await p->navigate(url("/frame?src=" + encode(other("/health"))));
        co_await probe_result(p);
        co_return other_.stats()["requests_by_route"].value("health", std::uint64_t{0});
    }());
    // Counted by route: after a page of its own, Chromium may also ask 127.0.0.2 for a favicon.
    EXPECT_EQ(reached, 3u) << other_.stats().dump();
}

TEST_F(ProfileTest, ChildSessionsAndTheirHandlersGoAwayWithTheirTargets) {
    auto profile = shop_profile();
    profile.allowed_hosts.push_back("localhost");
    const std::string frame =
        url("/frame?src=" + encode("http://localhost:" + std::to_string(shop_.port()) + "/health"));
    auto subscriptions = [&] { return browser_->cdp()->stats().subscriptions; };
    const auto before = subscriptions();
    const json got = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto p = co_await profiled_page(co_await browser_->new_context(), profile);
        const auto applied = subscriptions();
        json seen = json::array();
        for (int i = 0; i < 3; ++i) {
            co_await p->navigate(frame);
            co_await probe_result(p);
            co_await p->navigate(url("/health")); // the iframe's target and session end
            for (int wait = 0; wait < 100 && (subscriptions() != applied ||
                                              cdp::blocked_counts(*p).live_children != 0);
                 ++wait) {
                co_await p->evaluate("new Promise(r => setTimeout(r, 20))");
            }
            seen.push_back({subscriptions() - applied, cdp::blocked_counts(*p).live_children});
        }
        const auto children = cdp::blocked_counts(*p).children;
        co_await p->close();
        co_return json{{"left", seen}, {"children", children}};
    }());
    EXPECT_EQ(got["children"], 3) << got.dump(); // one out-of-process iframe per navigation
    // [client subscriptions, sessions the profile still keeps] after each navigation away.
    EXPECT_EQ(got["left"], json({{0, 0}, {0, 0}, {0, 0}}));
    EXPECT_EQ(subscriptions(), before);
}

TEST_F(ProfileTest, ServiceWorkersCarryTheRules) {
    // A service worker is auto-attached from the page's session like a dedicated one; its
    // script (/worker.js) fetches 127.0.0.2 as soon as it runs.
    const json got = await_for(*browser_, [&]() -> asio::awaitable<json> {
        auto p = co_await profiled_page(co_await browser_->new_context(), shop_profile());
        co_await p->navigate(url("/health"));
        std::string script =
            "navigator.serviceWorker.register('/worker.js?src=" + encode(other("/health")) +
            "').then(r => new Promise(done => { const w = r.installing || "
            "r.waiting || r.active; if (w.state === 'activated') done(w.state); "
            "w.onstatechange = () => w.state === 'activated' && done(w.state); "
            "setTimeout(() => done('stuck in ' + w.state), 5000); }))";
        json state = co_await p->evaluate(std::move(script));
        const auto counts = cdp::blocked_counts(*p);
        co_return json{{"state", state},
                       {"children", counts.children},
                       {"children_failed", counts.children_failed},
                       {"blocked_by_rules", counts.blocked_by_rules}};
    }());
    EXPECT_EQ(got["state"], "activated") << got.dump();
    EXPECT_GE(got["children"], 1) << got.dump();
    EXPECT_GE(got["blocked_by_rules"], 1) << got.dump(); // the worker's fetch
    EXPECT_EQ(other_requests(), 0u) << other_.stats().dump();
    EXPECT_EQ(shop_.stats()["requests_by_route"].value("worker_script", 0), 1);
}

} // namespace
} // namespace rotor::test

// The HTTP client against the fixture shop over real loopback HTTP: JSON and GraphQL, connection
// reuse, 128 transfers in flight on one thread, timeouts, the address guard, size limits.
#include "catalog.hpp"
#include "cdp/url_policy.hpp"
#include "http/client.hpp"
#include "redis_server.hpp" // free_tcp_port
#include "shop_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <future>

namespace rotor::http {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// Runs one coroutine to its end on a fresh io_context, with a hard deadline.
template <class T> T run(asio::awaitable<T> task) {
    asio::io_context io;
    auto f = asio::co_spawn(io, std::move(task), asio::use_future);
    std::thread t([&] { io.run(); });
    const auto ready = f.wait_for(std::chrono::seconds(60));
    if (ready != std::future_status::ready) {
        io.stop();
        t.join();
        throw std::runtime_error("the transfer did not end within 60 s");
    }
    t.join();
    return f.get();
}

response get(client& c, const std::string& url, milliseconds timeout = milliseconds(10000)) {
    request r;
    r.url = url;
    r.timeout = timeout;
    return run(c.fetch(r));
}

class HttpClientTest : public ::testing::Test {
  protected:
    fixture::shop_server shop_;
};

TEST_F(HttpClientTest, FetchesJsonAndPostsGraphql) {
    client c;
    const auto res = get(c, shop_.base_url() + "/api/products/5100");
    EXPECT_EQ(res.status, 200);
    EXPECT_NE(res.content_type.find("application/json"), std::string::npos);
    EXPECT_EQ(res.address, "127.0.0.1");
    EXPECT_EQ(res.http_version, 1);
    const auto doc = nlohmann::json::parse(res.body);
    EXPECT_EQ(doc["price"], fixture::product_for(5100).price);

    request post;
    post.method = "POST";
    post.url = shop_.base_url() + "/graphql";
    post.headers = {{"Content-Type", "application/json"}};
    post.body = R"({"query":"query($id: ID!) { product(id: $id) { name price } }",)"
                R"("variables":{"id":"5101"}})";
    const auto g = run(c.fetch(post));
    EXPECT_EQ(g.status, 200);
    const auto gd = nlohmann::json::parse(g.body);
    EXPECT_EQ(gd["data"]["product"]["price"], fixture::product_for(5101).price);
    EXPECT_FALSE(gd["data"]["product"].contains("stock")) << "only the fields asked for";

    const auto missing = get(c, shop_.base_url() + "/api/products/404001");
    EXPECT_EQ(missing.status, 404) << "an HTTP error status is a response";
}

TEST_F(HttpClientTest, SequentialRequestsReuseOneConnection) {
    client c;
    for (int i = 0; i < 20; ++i) {
        const auto res = get(c, shop_.base_url() + "/api/products/" + std::to_string(5200 + i));
        ASSERT_EQ(res.status, 200);
        if (i > 0) {
            EXPECT_TRUE(res.reused_connection) << i;
        }
    }
    EXPECT_EQ(c.stats().connections_opened, 1u);
    EXPECT_EQ(c.stats().reused, 19u);
    EXPECT_EQ(shop_.stats()["max_concurrent_connections"], 1);
}

TEST_F(HttpClientTest, RunsManyTransfersAtOnceOnOneThread) {
    client c;
    constexpr int n = 128;
    asio::io_context io;
    std::vector<std::future<response>> futures;
    for (int i = 0; i < n; ++i) {
        request r;
        r.url = shop_.base_url() + "/api/products/" + std::to_string(700000 + (i % 3));
        futures.push_back(asio::co_spawn(io, c.fetch(r), asio::use_future));
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::thread t([&] { io.run(); });
    int ok = 0;
    for (auto& f : futures) {
        if (f.wait_until(t0 + std::chrono::seconds(60)) != std::future_status::ready) break;
        ok += f.get().status == 200;
    }
    // Not io.stop() once everything answered: the client's thread may still hold this context's
    // work for an instant after resuming the caller; run() returns once it lets go, and the
    // context is destroyed only then (ASan saw a use after free with the stop).
    if (ok != n) io.stop();
    t.join();
    EXPECT_EQ(ok, n);
    const auto took = std::chrono::steady_clock::now() - t0;
    // 700000-700002 answer after 1-3 s each: in flight together they take ~3 s, one by one 256 s.
    EXPECT_LT(took, std::chrono::seconds(30));
    EXPECT_GE(shop_.stats()["max_concurrent_connections"].get<int>(), 64);
    EXPECT_EQ(c.stats().requests, static_cast<std::uint64_t>(n));
}

TEST_F(HttpClientTest, ATransferPastItsTimeoutFailsAsATimeout) {
    client c;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        get(c, shop_.base_url() + "/api/products/700001", milliseconds(300)); // answers in 3 s
        FAIL() << "no timeout";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::timeout) << e.what();
        EXPECT_NE(std::string(e.what()).find("/api/products/700001"), std::string::npos);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2500));
}

TEST_F(HttpClientTest, TheGuardRefusesAPublicNameResolvingToAPrivateAddress) {
    // shop.test is pinned to 127.0.0.1 (so nothing can leave loopback even if the guard were
    // wrong): a public-looking name leading to loopback is what DNS rebinding looks like.
    const auto port = std::to_string(shop_.port());
    auto policy = std::make_shared<cdp::url_policy>(std::vector<std::string>{"shop.test"});
    client_options o;
    o.resolve = {"shop.test:" + port + ":127.0.0.1"};
    o.guard = [policy](std::string_view url, std::string_view address) {
        const auto check = policy->check_address(url, address);
        return check.allowed ? std::string() : check.reason;
    };
    client c(o);
    try {
        get(c, "http://shop.test:" + port + "/api/products/5100");
        FAIL() << "the connection was allowed";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::refused) << e.what();
        EXPECT_NE(std::string(e.what()).find("resolved to 127.0.0.1"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(c.stats().refused, 1u);
    EXPECT_EQ(shop_.stats()["total_requests"], 0) << "the shop was reached";

    // The same policy with the address itself listed lets the same request through.
    auto listed = std::make_shared<cdp::url_policy>(std::vector<std::string>{"127.0.0.1"});
    client_options o2;
    o2.guard = [listed](std::string_view url, std::string_view address) {
        const auto check = listed->check_address(url, address);
        return check.allowed ? std::string() : check.reason;
    };
    client c2(o2);
    EXPECT_EQ(get(c2, shop_.base_url() + "/api/products/5100").status, 200);
}

TEST_F(HttpClientTest, RefusesOtherSchemesOversizedBodiesAndReportsDeadPorts) {
    client c;
    try {
        get(c, "file:///etc/passwd");
        FAIL() << "file: was fetched";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::refused) << e.what();
    }
    request big;
    big.url = shop_.base_url() + "/product/5100"; // a page of several KB
    big.max_body = 100;
    try {
        run(c.fetch(big));
        FAIL() << "the body was not limited";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::too_large) << e.what();
    }
    try {
        get(c, "http://127.0.0.1:" + std::to_string(test::free_tcp_port()) + "/");
        FAIL() << "a dead port answered";
    } catch (const error& e) {
        EXPECT_EQ(e.kind(), errc::connect_failed) << e.what();
    }
    // The client still works after all of that.
    EXPECT_EQ(get(c, shop_.base_url() + "/api/products/5100").status, 200);
}

} // namespace
} // namespace rotor::http

#include "catalog.hpp"
#include "http_client.hpp"
#include "pages.hpp"
#include "probe_routes.hpp"
#include "shop_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace rotor::fixture {
namespace {

using test::http_get;
using test::http_post;

class ShopServer : public ::testing::Test {
  protected:
    shop_server shop_;
    std::string url(const std::string& path) const { return shop_.base_url() + path; }
};

TEST_F(ShopServer, BindsLoopbackOnAFreePort) {
    EXPECT_NE(shop_.port(), 0);
    EXPECT_EQ(shop_.base_url().rfind("http://127.0.0.1:", 0), 0u);
    EXPECT_EQ(http_get(url("/health")).status, 200);
}

TEST_F(ShopServer, ServesTheProductPage) {
    const auto res = http_get(url("/product/1234"));
    ASSERT_EQ(res.status, 200) << res.error;
    EXPECT_EQ(res.headers.at("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(res.body, product_page_html(product_for(1234)));
}

TEST_F(ShopServer, ErrorClassesAnswerTheirStatus) {
    EXPECT_EQ(http_get(url("/product/404001")).status, 404);
    EXPECT_EQ(http_get(url("/product/410001")).status, 410);
    EXPECT_EQ(http_get(url("/product/500001")).status, 500);
    EXPECT_EQ(http_get(url("/api/products/404001")).status, 404);
    EXPECT_EQ(http_get(url("/product/not-a-number")).status, 404);
    const auto res = http_get(url("/product/404001"));
    EXPECT_NE(res.body.find("404001"), std::string::npos);
}

TEST_F(ShopServer, SlowProductsAnswerLate) {
    const std::uint64_t id = 700001;
    const auto start = std::chrono::steady_clock::now();
    const auto res = http_get(url("/product/" + std::to_string(id)));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(res.status, 200);
    EXPECT_GE(took, std::chrono::milliseconds(slow_delay_ms(id)));
}

TEST_F(ShopServer, HangRouteNeverAnswers) {
    test::http_request_options options;
    options.timeout_ms = 400;
    const auto res = http_get(url("/hang/701001"), options);
    EXPECT_EQ(res.status, 0);
}

TEST_F(ShopServer, RedirectChainEndsAtTheProduct) {
    const auto first = http_get(url("/product/704001"));
    EXPECT_EQ(first.status, 302);
    EXPECT_EQ(first.headers.at("location"), "/redirect/704001/1");
    test::http_request_options follow;
    follow.follow_redirects = true;
    const auto res = http_get(url("/product/704001"), follow);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.effective_url, url("/product/704001?from=redirect"));
    EXPECT_EQ(shop_.stats()["requests_by_route"]["redirect"], redirect_hops);
}

TEST_F(ShopServer, ApiAndGraphqlReturnTheCatalogue) {
    const product p = product_for(777);
    const auto api = http_get(url("/api/products/777"));
    ASSERT_EQ(api.status, 200);
    EXPECT_EQ(nlohmann::json::parse(api.body), product_json(p));

    const auto gql = http_post(url("/graphql"),
                               R"({"query":"query($id: ID!) { product(id: $id) { name price } }",)"
                               R"("variables":{"id":"777"}})");
    ASSERT_EQ(gql.status, 200) << gql.body;
    const auto body = nlohmann::json::parse(gql.body);
    EXPECT_EQ(body["data"]["product"]["name"], p.name);
    EXPECT_EQ(body["data"]["product"]["price"], p.price);
    EXPECT_FALSE(body["data"]["product"].contains("stock"));

    const auto missing =
        http_post(url("/graphql"), R"({"query":"{ product { id } }","variables":{"id":404002}})");
    EXPECT_EQ(nlohmann::json::parse(missing.body)["data"]["product"], nullptr);
    EXPECT_EQ(http_post(url("/graphql"), "{not json").status, 400);
}

TEST_F(ShopServer, StaticResourcesHaveTheirTypes) {
    EXPECT_EQ(http_get(url("/static/shop.css")).headers.at("content-type"), "text/css");
    EXPECT_EQ(http_get(url("/static/shop-font.woff2")).headers.at("content-type"), "font/woff2");
    EXPECT_EQ(http_get(url("/img/1/2.svg")).headers.at("content-type"), "image/svg+xml");
}

TEST_F(ShopServer, StatsCountAndReset) {
    http_get(url("/product/1"));
    http_get(url("/product/2"));
    http_get(url("/img/1/1.svg"));
    http_get(url("/product/404001"));
    auto stats = nlohmann::json::parse(http_get(url("/__stats")).body);
    EXPECT_EQ(stats["requests_by_route"]["product"], 3);
    EXPECT_EQ(stats["requests_by_route"]["image"], 1);
    EXPECT_EQ(stats["requests_by_status"]["200"], 3);
    EXPECT_EQ(stats["requests_by_status"]["404"], 1);
    EXPECT_EQ(stats["total_requests"], 4);
    http_get(url("/__reset"));
    stats = shop_.stats();
    EXPECT_EQ(stats["total_requests"], 0);
    EXPECT_TRUE(stats["requests_by_route"].empty());
}

TEST_F(ShopServer, ConcurrentClientsGetTheirOwnProducts) {
    constexpr int clients = 8;
    constexpr int per_client = 25;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            for (int i = 0; i < per_client; ++i) {
                const std::uint64_t id = 1000 + static_cast<std::uint64_t>(c * per_client + i);
                const auto res = http_get(url("/api/products/" + std::to_string(id)));
                if (res.status != 200 ||
                    nlohmann::json::parse(res.body)["name"] != product_for(id).name) {
                    ++wrong;
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(wrong.load(), 0);
    const auto stats = shop_.stats();
    EXPECT_EQ(stats["requests_by_route"]["api"], clients * per_client);
    EXPECT_GE(stats["max_concurrent_connections"].get<int>(), 2);
}

TEST_F(ShopServer, ProbeRoutesPointTheBrowserAtTheGivenUrl) {
    const std::string target = "http://127.0.0.2:8080/img/1/1.svg?a=1&b=\"2\"";
    const std::string encoded =
        "http%3A%2F%2F127.0.0.2%3A8080%2Fimg%2F1%2F1.svg%3Fa%3D1%26b%3D%222%22";
    const auto redirect = http_get(url("/redirect-to?url=" + encoded));
    EXPECT_EQ(redirect.status, 302);
    EXPECT_EQ(redirect.headers.at("location"), target);
    const auto frame = http_get(url("/frame?src=" + encoded));
    EXPECT_EQ(frame.status, 200);
    EXPECT_NE(
        frame.body.find("<iframe id=\"child\" src=\"http://127.0.0.2:8080/img/1/1.svg?a=1&amp;"
                        "b=&quot;2&quot;\""),
        std::string::npos)
        << frame.body;
    const auto script = http_get(url("/subresource?kind=script&src=" + encoded));
    EXPECT_NE(script.body.find("<script src=\"http://127.0.0.2:8080/"), std::string::npos);
    const auto worker = http_get(url("/worker?src=" + encoded));
    EXPECT_NE(worker.body.find("new Worker(\"/worker.js?src=" + encoded + "\")"), std::string::npos)
        << worker.body;
    const auto worker_js = http_get(url("/worker.js?src=" + encoded));
    EXPECT_EQ(worker_js.headers.at("content-type"), "text/javascript");
    EXPECT_NE(worker_js.body.find("fetch(\"http://127.0.0.2:8080/img/1/1.svg?a=1&b=\\\"2\\\"\""),
              std::string::npos)
        << worker_js.body;
    const auto missing = http_get(url("/frame"));
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(missing.body, "/frame: missing query parameter src\n");
    EXPECT_EQ(shop_.stats()["requests_by_route"]["redirect_to"], 1);
}

TEST(ShopServerAddress, BindsAnotherLoopbackAddress) {
    shop_options options;
    options.address = "127.0.0.2";
    shop_server other(options);
    EXPECT_EQ(other.base_url(), "http://127.0.0.2:" + std::to_string(other.port()));
    EXPECT_EQ(http_get(other.base_url() + "/health").status, 200);
    EXPECT_EQ(other.stats()["total_requests"], 1);
}

TEST(ProbeRoutes, QueryParametersArePercentDecoded) {
    EXPECT_EQ(query_param("a=1&src=x%2Fy+z&b", "src"), "x/y z");
    EXPECT_EQ(query_param("a=1&b", "b"), "");
    EXPECT_EQ(query_param("a=1", "src"), std::nullopt);
    EXPECT_EQ(query_param("src=%zz%4", "src"), "%zz%4");
}

TEST(ShopServerRateLimit, AnswersTooManyRequestsAboveMaxRps) {
    shop_options options;
    options.max_rps = 5;
    shop_server shop(options);
    int ok = 0;
    int limited = 0;
    std::string retry_after;
    for (int i = 0; i < 20; ++i) {
        const auto res = http_get(shop.base_url() + "/api/products/" + std::to_string(i + 1));
        if (res.status == 200) ++ok;
        if (res.status == 429) {
            ++limited;
            retry_after = res.headers.at("retry-after");
        }
    }
    // 20 requests finish well inside one second on loopback, so exactly 5 get through.
    EXPECT_EQ(ok, 5);
    EXPECT_EQ(limited, 15);
    EXPECT_EQ(retry_after, "1");
    const auto stats = shop.stats();
    EXPECT_EQ(stats["max_product_requests_per_s"], 5);
    EXPECT_EQ(stats["rate_limited"], 15);
    EXPECT_EQ(stats["requests_by_status"]["429"], 15);
}

} // namespace
} // namespace rotor::fixture

// The freshness cache's identity: every setting that can change an item's fetched values changes
// it (an entry fetched under another one must not answer), and tuning settings do not (a
// platform whose concurrency or rate changes keeps its cache).
#include "nodes/cache_identity.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace rotor::nodes {
namespace {

platform_config base() {
    platform_config c;
    c.platform = "shop";
    c.url_template = "http://127.0.0.1:1/goods/{id}";
    c.allowed_hosts = {"127.0.0.1"};
    c.api.headers = {{"Accept", "application/json"}};
    c.api.found = "/product";
    c.api.fields = {{"price", "", "/product/price", field_read::text, "", std::nullopt,
                     field_type::integer, true}};
    c.scan.fields = {
        {"price", ".price", "", field_read::text, "", std::nullopt, field_type::integer, true}};
    return c;
}

struct variant {
    std::string what;
    std::function<void(platform_config&)> change;
};

TEST(CacheIdentity, EverySettingTheAnswerDependsOnChangesIt) {
    const nlohmann::json data = {{"rank", 1}};
    for (const auto type : {worker_type::api, worker_type::browser}) {
        auto c0 = base();
        c0.type = type;
        const auto id0 = cache_identity(c0, "1001", data);
        EXPECT_EQ(id0.rfind("v2:", 0), 0u) << id0;
        EXPECT_EQ(id0.size(), 19u) << id0;
        EXPECT_EQ(cache_identity(c0, "1001", data), id0) << "not stable";
        EXPECT_NE(cache_identity(c0, "1002", data), id0) << "the item's id";
        EXPECT_NE(cache_identity(c0, "1001", {{"rank", 2}}), id0) << "the item's data";
        const std::vector<variant> changes = {
            {"url template", [](platform_config& c) { c.url_template += "?lang=en"; }},
            {"method", [](platform_config& c) { c.api.method = "POST"; }},
            {"api header", [](platform_config& c) { c.api.headers["X-Currency"] = "USD"; }},
            {"api header value", [](platform_config& c) { c.api.headers["Accept"] = "text/json"; }},
            {"body",
             [](platform_config& c) {
                 c.api.body = nlohmann::json{{"id", "{id}"}};
             }},
            {"graphql query",
             [](platform_config& c) { c.api.graphql_query = "{ product { price } }"; }},
            {"found", [](platform_config& c) { c.api.found = "/data"; }},
            {"browser header",
             [](platform_config& c) { c.browser.headers["Accept-Language"] = "ko"; }},
            {"user agent", [](platform_config& c) { c.browser.user_agent = "rotor-test"; }},
            {"cookie",
             [](platform_config& c) {
                 c.browser.cookies.push_back({"region", "kr", "127.0.0.1"});
             }},
            {"viewport",
             [](platform_config& c) {
                 c.browser.viewport = cdp::viewport{390, 844, 3, true};
             }},
            {"blocked types",
             [](platform_config& c) { c.browser.block = {cdp::resource_type::script}; }},
            {"blocked urls", [](platform_config& c) { c.browser.block_urls = {"*://*:*/*.js"}; }},
            {"allowed hosts", [](platform_config& c) { c.allowed_hosts.push_back("127.0.0.2"); }},
            {"wait_for", [](platform_config& c) { c.scan.wait_for.selector = ".price"; }},
            {"block_detect", [](platform_config& c) { c.scan.block_detect.text = "captcha"; }},
            {"api field regex", [](platform_config& c) { c.api.fields[0].regex = "([0-9]+)"; }},
            {"scan field selector",
             [](platform_config& c) { c.scan.fields[0].selector = ".sale-price"; }},
        };
        for (const auto& v : changes) {
            auto c = c0;
            v.change(c);
            // Each kind reads its own fields; every other setting counts for both kinds.
            const bool other_kinds_field =
                (type == worker_type::api && v.what == "scan field selector") ||
                (type == worker_type::browser && v.what == "api field regex");
            if (other_kinds_field) continue;
            EXPECT_NE(cache_identity(c, "1001", data), id0)
                << v.what << " (" << to_string(type) << ")";
        }
        const std::vector<variant> tuning = {
            {"concurrency", [](platform_config& c) { c.concurrency = 16; }},
            {"retries", [](platform_config& c) { c.retries = 5; }},
            {"rate", [](platform_config& c) { c.rate_limit.requests_per_minute = 600; }},
            {"timeouts", [](platform_config& c) { c.timeouts.item = std::chrono::seconds(5); }},
            {"cache ttl", [](platform_config& c) { c.cache_ttl = std::chrono::hours(1); }},
            {"browsers", [](platform_config& c) { c.browser.browsers = 3; }},
            {"sink", [](platform_config& c) { c.jsonl = jsonl_sink_spec{}; }},
        };
        for (const auto& v : tuning) {
            auto c = c0;
            v.change(c);
            EXPECT_EQ(cache_identity(c, "1001", data), id0) << v.what << " emptied the cache";
        }
    }
}

TEST(CacheIdentity, InvalidUtf8IsHashedNotThrown) {
    auto c = base();
    c.api.headers["X-Bad"] = "\xff\xfe";
    c.browser.headers["X-Bad"] = "\xff";
    c.browser.cookies.push_back({"region", "\xfe", "127.0.0.1"});
    EXPECT_NO_THROW(cache_identity(c, "id\xc3", nlohmann::json{{"name", "\xff"}}));
}

} // namespace
} // namespace rotor::nodes

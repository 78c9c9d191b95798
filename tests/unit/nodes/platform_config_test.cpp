// Platform configs: what a good file gives, and a message naming the file, line, key and what
// was expected for every kind of mistake.
#include "nodes/config_loader.hpp"

#include <gtest/gtest.h>

#include <map>

namespace rotor::nodes {
namespace {

const std::string good = R"(platform: demo-shop
worker_type: browser
concurrency: ${CONC:-3}
retries: 1
on_item_failure: skip
id_pattern: '^[0-9]{1,12}$'
url_template: 'http://${SHOP_HOST}/product/{id}'
allowed_hosts: ['127.0.0.1']
rate_limit:
  requests_per_minute: 600
  burst: 2
  wait_time_ms: 3000-4000
  cooldown_on: [429, 503]
  cooldown_s: 30
timeouts: {navigation_ms: 20000, wait_ms: 5000, item_ms: 60000}
browser:
  page_rotation: 10
  context_rotation: 50
  shm_mode: avoid
  block: [image, font]
  headers: {Accept-Language: ko-KR}
  cookies: [{name: session, value: x, domain: 127.0.0.1}]
scan:
  wait_for: {selector: '#price[data-value]'}
  block_detect: {selector: '.captcha', status: [403]}
  fields:
    name: {selector: '.product-name', required: true}
    price: {selector: '#price', read: 'attr:data-value', type: price, required: true}
    stock: {selector: '.stock', read: 'attr:data-stock'}
workflow:
  - {id: save, type: save, depends_on: [validate], sinks: [jsonl]}
  - {id: scan, type: scan_product}
  - {id: validate, type: validate, depends_on: [scan]}
sinks:
  jsonl: {dir: /tmp/results}
)";

env_lookup env_of(std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
        const auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

// The problems of `yaml`, joined (empty when it loads).
std::string problems_of(const std::string& yaml,
                        std::map<std::string, std::string> vars = {{"SHOP_HOST", "127.0.0.1"}}) {
    try {
        parse_platform_config(yaml, "demo-shop.yaml", env_of(std::move(vars)));
        return "";
    } catch (const config_error& e) {
        return e.what();
    }
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

TEST(PlatformConfig, AGoodFileGivesEverySetting) {
    const auto c =
        parse_platform_config(good, "demo-shop.yaml", env_of({{"SHOP_HOST", "127.0.0.1:8080"}}));
    EXPECT_EQ(c.platform, "demo-shop");
    EXPECT_EQ(c.type, worker_type::browser);
    EXPECT_EQ(c.concurrency, 3u) << "${CONC:-3}";
    EXPECT_EQ(c.url_template, "http://127.0.0.1:8080/product/{id}");
    EXPECT_EQ(c.rate_limit.wait_min.count(), 3000);
    EXPECT_EQ(c.rate_limit.wait_max.count(), 4000);
    EXPECT_EQ(c.rate_limit.burst, 2);
    EXPECT_EQ(c.rate_limit.cooldown.count(), 30);
    EXPECT_EQ(c.timeouts.navigation.count(), 20000);
    EXPECT_EQ(c.browser.shm, pool::shm_mode::avoid);
    ASSERT_EQ(c.browser.block.size(), 2u);
    EXPECT_EQ(c.browser.headers.at("Accept-Language"), "ko-KR");
    ASSERT_EQ(c.browser.cookies.size(), 1u);
    EXPECT_EQ(c.scan.wait_for.selector, "#price[data-value]");
    ASSERT_EQ(c.scan.fields.size(), 3u);
    EXPECT_EQ(c.scan.fields[1].name, "price");
    EXPECT_EQ(c.scan.fields[1].read, field_read::attr);
    EXPECT_EQ(c.scan.fields[1].attribute, "data-value");
    EXPECT_EQ(c.scan.fields[1].type, field_type::price);
    EXPECT_TRUE(c.scan.fields[1].required);
    ASSERT_EQ(c.workflow.size(), 3u);
    EXPECT_EQ(c.workflow[0].id, "scan") << "ordered by depends_on";
    EXPECT_EQ(c.workflow[2].id, "save");
    ASSERT_TRUE(c.jsonl);
    EXPECT_EQ(c.jsonl->dir, "/tmp/results");
}

TEST(PlatformConfig, EveryKindOfMistakeHasItsOwnMessage) {
    struct mistake {
        std::string name, yaml, expected;
    };
    const std::vector<mistake> mistakes = {
        {"missing key", replaced(good, "worker_type: browser\n", ""),
         "demo-shop.yaml:1:1: worker_type: missing (it is required)"},
        {"unknown key", replaced(good, "retries: 1", "retires: 1"),
         "demo-shop.yaml:4:1: retires: unknown key"},
        {"backwards range", replaced(good, "3000-4000", "4000-3000"),
         "demo-shop.yaml:12:17: rate_limit.wait_time_ms: the range 4000-3000 runs backwards"},
        {"bad type", replaced(good, "type: price", "type: money"),
         "scan.fields.price.type: 'money' is not string, int, price, bool or json"},
        {"not a number", replaced(good, "burst: 2", "burst: two"),
         "rate_limit.burst: 'two' is not a whole number"},
        {"bad YAML", replaced(good, "burst: 2", "burst: [2"), "not valid YAML"},
        {"unset env var", good, "url_template: environment variable SHOP_HOST is not set"},
        {"bad host", replaced(good, "['127.0.0.1']", "['http://x/']"),
         "allowed_hosts: 'http://x/'"},
        {"no allowed hosts", replaced(good, "allowed_hosts: ['127.0.0.1']\n", ""),
         "allowed_hosts: missing or empty"},
        {"unknown node", replaced(good, "depends_on: [scan]", "depends_on: [scna]"),
         "'scna' is not a node of this workflow"},
        {"cycle",
         replaced(good, "{id: scan, type: scan_product}",
                  "{id: scan, type: scan_product, depends_on: [save]}"),
         "through a cycle"},
        {"bad regex", replaced(good, "'^[0-9]{1,12}$'", "'^[0-9'"), "id_pattern: '^[0-9'"},
        {"no {id}", replaced(good, "/product/{id}", "/product/"), "url_template: has no {id}"},
        {"bad read", replaced(good, "'attr:data-value'", "attribute"),
         "is not text, html or attr:NAME"},
        {"bad policy", replaced(good, "on_item_failure: skip", "on_item_failure: stop"),
         "on_item_failure: 'stop' is not skip or fail_job"},
        {"status not a status", replaced(good, "status: [403]", "status: [4e2]"),
         "'4e2' is not an HTTP status"},
        {"reserved field", replaced(good, "stock: {", "status: {"), "a name the stored result"},
        {"template off the list", replaced(good, "['127.0.0.1']", "['shop.example']"),
         "url_template: its URLs are refused by allowed_hosts"},
        {"id in the host", replaced(good, "http://${SHOP_HOST}/product/{id}", "http://{id}.shop/x"),
         "{id} is in the host part"},
        {"save not last", replaced(good, "depends_on: [validate], sinks", "sinks"),
         "the save node must come last"},
        {"unreachable poison", replaced(good, "retries: 1", "retries: 1\npoison_after: 3"),
         "poison_after: 3 crashes can never happen in 2 attempts"},
        {"unknown sink", replaced(good, "sinks: [jsonl]", "sinks: [postgres]"),
         "'postgres' is not a sink configured"},
    };
    for (const auto& m : mistakes) {
        const auto p = m.name == "unset env var" ? problems_of(m.yaml, {}) : problems_of(m.yaml);
        EXPECT_NE(p.find(m.expected), std::string::npos) << m.name << ":\n" << p;
    }
    // Every problem of a file at once, not the first.
    auto two = replaced(replaced(good, "retries: 1", "retires: 1"), "burst: 2", "burst: 0");
    const auto p = problems_of(two);
    EXPECT_NE(p.find("2 problem(s)"), std::string::npos) << p;
}

TEST(PlatformConfig, ExpandsEnvironmentVariables) {
    std::string error;
    const auto env = env_of({{"A", "1"}, {"EMPTY", ""}});
    EXPECT_EQ(expand_env("x${A}y${B:-2}z", env, error), "x1y2z");
    EXPECT_EQ(expand_env("${EMPTY:-d}", env, error), "") << "set but empty is set";
    EXPECT_EQ(expand_env("${B}", env, error), std::nullopt);
    EXPECT_NE(error.find("B is not set"), std::string::npos);
    EXPECT_EQ(expand_env("${A", env, error), std::nullopt);
    EXPECT_EQ(expand_env("${A B}", env, error), std::nullopt);
    EXPECT_EQ(expand_env("no vars", env, error), "no vars");
}

// poison_after's default (2) must not make retries: 0 an error the user never wrote.
TEST(PlatformConfig, RetriesZeroWithoutPoisonAfterLoads) {
    const auto c = parse_platform_config(replaced(good, "retries: 1", "retries: 0"),
                                         "demo-shop.yaml", env_of({{"SHOP_HOST", "127.0.0.1"}}));
    EXPECT_EQ(c.retries, 0);
    EXPECT_EQ(c.poison_after, 1);
}

} // namespace
} // namespace rotor::nodes

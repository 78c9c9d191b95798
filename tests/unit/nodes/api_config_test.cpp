// API platforms as pure logic: their config section and sinks (every mistake named), request
// body templates, JSON field values, and the rows the PostgreSQL sink writes.
#include "nodes/api_fetch_node.hpp"
#include "nodes/body_template.hpp"
#include "nodes/config_loader.hpp"
#include "nodes/detail/config_sections.hpp"
#include "nodes/field_values.hpp"
#include "nodes/postgres_sink.hpp"

#include <gtest/gtest.h>

namespace rotor::nodes::api_config_test {
namespace {

const std::string good = R"(platform: shop-api
worker_type: api
url_template: 'http://127.0.0.1:8080/graphql'
allowed_hosts: ['127.0.0.1']
cache_ttl: 6h
api:
  headers: {X-Client: rotor}
  graphql:
    query: 'query($id: ID!) { product(id: $id) { name price } }'
    variables: {id: '{id}', brand: '{data.brand}', limit: 3, exact: '3'}
  found: /data/product
  fields:
    name: {pointer: /data/product/name, required: true}
    price: {pointer: /data/product/price, type: price, required: true}
workflow:
  - {id: fetch, type: api_fetch}
  - {id: validate, type: validate, depends_on: [fetch]}
  - {id: save, type: save, depends_on: [validate], sinks: [jsonl, postgres, redis_stream]}
sinks:
  jsonl: {dir: out}
  redis_stream: {maxlen: 1000, outcomes: [ok]}
  postgres:
    url: 'postgresql://u@127.0.0.1/db'
    table: public.products
    key: [platform, product_id]
    columns: {platform: platform, product_id: item, price: fields.price, brand: data.brand,
              seen: at}
)";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    if (at == std::string::npos) throw std::logic_error("no '" + from + "' in the config");
    return text.replace(at, from.size(), to);
}

env_lookup no_env() {
    return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

std::vector<std::string> problems_of(const std::string& yaml) {
    try {
        parse_platform_config(yaml, "shop-api.yaml", no_env());
    } catch (const config_error& e) {
        return e.problems();
    }
    return {};
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
    for (const auto& p : problems) {
        if (p.find(text) != std::string::npos) return true;
    }
    return false;
}

TEST(ApiConfig, AGoodFileGivesEverySetting) {
    const auto c = parse_platform_config(good, "shop-api.yaml", no_env());
    EXPECT_EQ(c.type, worker_type::api);
    EXPECT_EQ(c.api.method, "POST") << "GraphQL is a POST";
    EXPECT_EQ(c.api.graphql_query, "query($id: ID!) { product(id: $id) { name price } }");
    ASSERT_TRUE(c.api.body);
    EXPECT_EQ((*c.api.body)["limit"], 3) << "a plain number stays a number";
    EXPECT_EQ((*c.api.body)["exact"], "3") << "a quoted one is a string";
    EXPECT_EQ(c.api.found, "/data/product");
    ASSERT_EQ(c.api.fields.size(), 2u);
    EXPECT_EQ(c.api.fields[1].pointer, "/data/product/price");
    EXPECT_EQ(c.api.fields[1].type, field_type::price);
    EXPECT_EQ(&fields_of(c), &c.api.fields);
    EXPECT_EQ(c.cache_ttl, std::chrono::hours(6));
    ASSERT_TRUE(c.postgres);
    EXPECT_EQ(c.postgres->table, "public.products");
    EXPECT_EQ(c.postgres->columns.size(), 5u);
    EXPECT_EQ(c.postgres->outcomes, outcome_set{"ok"});
    ASSERT_TRUE(c.redis_stream);
    EXPECT_EQ(c.redis_stream->key, "workflow:stream:platform:shop-api");
    EXPECT_EQ(c.redis_stream->maxlen, 1000u);
}

TEST(ApiConfig, EveryKindOfMistakeHasItsOwnMessage) {
    struct mistake {
        std::string from, to, says;
    };
    const std::vector<mistake> mistakes = {
        {"found: /data/product", "found: data/product", "is not a JSON pointer"},
        {"pointer: /data/product/name,", "selector: '.name',", "unknown key"},
        {"pointer: /data/product/name,", "pointer: '/x/~2',", "is not a JSON pointer"},
        {"cache_ttl: 6h", "cache_ttl: 6 hours", "is not a duration"},
        {"table: public.products", "table: 'products; DROP TABLE x'", "is not a table name"},
        {"key: [platform, product_id]", "key: [platform, sku]", "'sku' is not one of the columns"},
        {"brand: data.brand,", "brand: fields.brand,", "is not a source"},
        {"  redis_stream: {maxlen: 1000, outcomes: [ok]}\n",
         "  redis_stream: {maxlen: 1000, outcomes: [done]}\n", "is not an outcome"},
        {"sinks: [jsonl, postgres, redis_stream]", "sinks: [jsonl, kafka]",
         "'kafka' is not a sink configured"},
        {"{id: fetch, type: api_fetch}", "{id: fetch, type: scan_product}",
         "has no scan_product node"},
        {"  graphql:\n", "  method: GET\n  graphql:\n", "a GraphQL request is a POST"},
        {"'http://127.0.0.1:8080/graphql'", "'http://127.0.0.1:8080/graphql'\nscan: {}",
         "an api platform reads its fields under api:"},
        {"key: [platform, product_id]", "key: []", "empty: name the columns"},
        {"'http://127.0.0.1:8080/graphql'", "'http://key@127.0.0.1:8080/graphql'",
         "user information"},
        {"key: [platform, product_id]", "key: [platform, platform]", "a column is named twice"},
        {"variables: {id: '{id}', brand: '{data.brand}', limit: 3, exact: '3'}",
         "variables: {limit: 3}", "every item would ask for the same thing"},
    };
    for (const auto& m : mistakes) {
        const auto problems = problems_of(replaced(good, m.from, m.to));
        EXPECT_TRUE(mentions(problems, m.says))
            << "'" << m.to << "' should say '" << m.says << "'; it said:\n"
            << [&] {
                   std::string all;
                   for (const auto& p : problems) all += "  " + p + "\n";
                   return all;
               }();
        for (const auto& p : problems) {
            EXPECT_EQ(p.rfind("shop-api.yaml:", 0), 0u) << "no place: " << p;
        }
    }
}

TEST(ApiConfig, DurationsReadWithTheirUnit) {
    using detail::parse_duration;
    EXPECT_EQ(parse_duration("3600"), std::chrono::seconds(3600));
    EXPECT_EQ(parse_duration("90s"), std::chrono::seconds(90));
    EXPECT_EQ(parse_duration("30m"), std::chrono::minutes(30));
    EXPECT_EQ(parse_duration("1d"), std::chrono::hours(24));
    EXPECT_EQ(parse_duration("0"), std::chrono::seconds(0));
    EXPECT_FALSE(parse_duration("1w"));
    EXPECT_FALSE(parse_duration("-5"));
    EXPECT_FALSE(parse_duration("h"));
    EXPECT_FALSE(parse_duration(""));
}

TEST(BodyTemplate, ItemValuesGoInAsData) {
    const auto tmpl = nlohmann::json::parse(
        R"({"id": "{id}", "n": "{data.n}", "tags": ["{data.tag}", "x"], "text": "goods-{id}/{data.n}",
            "query": "{ product { name } }", "keep": 7})");
    std::string problem;
    const auto data = nlohmann::json::parse(R"({"n": 12, "tag": "a\"b"})");
    const auto out = render_template(tmpl, "A\"1", data, problem);
    EXPECT_EQ(problem, "");
    EXPECT_EQ(out["id"], "A\"1") << "the id is a string value, quotes and all";
    EXPECT_EQ(out["n"], 12) << "a number stays a number";
    EXPECT_EQ(out["tags"][0], "a\"b");
    EXPECT_EQ(out["text"], "goods-A\"1/12");
    EXPECT_EQ(out["query"], "{ product { name } }") << "other braces are left alone";
    EXPECT_EQ(out["keep"], 7);
    const auto missing = render_template(tmpl, "1", nlohmann::json::object(), problem);
    EXPECT_NE(problem.find("needs data.n"), std::string::npos) << problem;
}

TEST(JsonFields, NumbersStayNumbersAndTextIsRead) {
    field_spec price{"price", "", "/p", field_read::text, "", std::nullopt, field_type::price};
    nlohmann::json v = 12.345;
    EXPECT_EQ(convert_json_field(price, &v).value, 12.345) << "not read as 12345";
    v = 17500;
    EXPECT_EQ(convert_json_field(price, &v).value, 17500);
    v = "17,500원";
    EXPECT_EQ(convert_json_field(price, &v).value, 17500);
    v = nlohmann::json::object();
    EXPECT_NE(convert_json_field(price, &v).problem, "");
    EXPECT_TRUE(convert_json_field(price, nullptr).value.is_null());
    field_spec whole{"n", "", "/n", field_read::text, "", std::nullopt, field_type::integer};
    v = 3.5;
    EXPECT_NE(convert_json_field(whole, &v).problem, "") << "3.5 is not a whole number";
    field_spec raw{"j", "", "/j", field_read::text, "", std::nullopt, field_type::json};
    v = nlohmann::json::parse(R"({"a": [1, 2]})");
    EXPECT_EQ(convert_json_field(raw, &v).value, v);
    field_spec flag{"b", "", "/b", field_read::text, "", std::nullopt, field_type::boolean};
    v = false;
    EXPECT_EQ(convert_json_field(flag, &v).value, false);
}

TEST(PostgresRows, EachColumnFromItsSource) {
    postgres_sink_spec spec;
    spec.columns = {{"platform", "platform"},   {"id", "item"},          {"price", "fields.price"},
                    {"missing", "fields.nope"}, {"brand", "data.brand"}, {"at", "at"},
                    {"all", "fields"},          {"why", "reason"}};
    item_record r;
    r.platform = "p";
    r.item = "i\0x";
    r.item = std::string("i\0x", 3);
    r.fields = {{"price", 100}};
    r.data = {{"brand", "b"}};
    r.at_ms = 1700000000123;
    const auto row = postgres_sink::row_of(spec, r);
    ASSERT_EQ(row.size(), 8u);
    EXPECT_EQ(row[0], "p");
    EXPECT_EQ(row[1], "ix") << "PostgreSQL text holds no NUL";
    EXPECT_EQ(row[2], "100");
    EXPECT_FALSE(row[3]) << "a missing field is NULL";
    EXPECT_EQ(row[4], "b");
    EXPECT_EQ(row[5], "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(row[6], R"({"price":100})");
    EXPECT_FALSE(row[7]) << "no reason: NULL";
}

// Where the URL standard (the policy) and libcurl read a host differently, the URL is refused.
TEST(ApiUrls, AmbiguousUrlsAreRefusedBeforeLibcurlSeesThem) {
    EXPECT_EQ(ambiguous_url("https://shop.example/api/products/1?x=a@b"), "");
    EXPECT_NE(ambiguous_url("http://shop.example\\@evil.example/"), "");
    EXPECT_NE(ambiguous_url("http://user@evil.example/"), "");
    EXPECT_NE(ambiguous_url("http://shop.example@evil.example/x"), "");
    EXPECT_NE(ambiguous_url("http://shop.example/a b"), "");
    EXPECT_NE(ambiguous_url(std::string("http://shop.example/\x01")), "");
}

TEST(ApiAnswers, DeepNestingIsRefusedNotRecursedInto) {
    std::string problem;
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    const auto doc = parse_answer(deep, problem);
    EXPECT_NE(problem.find("nested deeper than"), std::string::npos) << problem;
    EXPECT_TRUE(doc.is_null());
    problem.clear();
    EXPECT_EQ(parse_answer(R"({"a": {"b": [1, 2]}})", problem)["a"]["b"][1], 2);
    EXPECT_EQ(problem, "");
    parse_answer("<html>", problem);
    EXPECT_EQ(problem, "not JSON");
}

} // namespace
} // namespace rotor::nodes::api_config_test

// Item URLs (ids checked, encoded and the result checked against the allowed hosts) and field
// values (typed from the page's text).
#include "nodes/field_values.hpp"
#include "nodes/item_url.hpp"

#include <gtest/gtest.h>

namespace rotor::nodes {
namespace {

platform_config shop(const std::string& pattern = "^[A-Za-z0-9_.-]{1,128}$") {
    platform_config c;
    c.url_template = "http://127.0.0.1:8080/product/{id}?ref={id}";
    c.allowed_hosts = {"127.0.0.1"};
    c.id_pattern = pattern;
    return c;
}

TEST(ItemUrl, AnIdBecomesOneEncodedSegmentOfAnAllowedHost) {
    const url_builder b(shop());
    EXPECT_EQ(b.url_for("A-1.x_2").url, "http://127.0.0.1:8080/product/A-1.x_2?ref=A-1.x_2");
    // What a probe enqueued: each is a malformed item, never a URL.
    for (const std::string bad :
         {"../../__reset", "1?x=<script>", "1011#frag", "..", ".", "", "a/b", "a b", "%2e%2e"}) {
        const auto u = b.url_for(bad);
        EXPECT_TRUE(u.url.empty()) << bad << " -> " << u.url;
        EXPECT_NE(u.problem.find("malformed item"), std::string::npos) << bad << ": " << u.problem;
    }
    // A looser pattern: the id is still one encoded segment.
    const url_builder loose(shop("^.{1,64}$"));
    EXPECT_EQ(loose.url_for("a/b?c#d").url,
              "http://127.0.0.1:8080/product/a%2Fb%3Fc%23d?ref=a%2Fb%3Fc%23d");
    EXPECT_NE(loose.url_for("..").problem.find("relative path segment"), std::string::npos);
}

TEST(ItemUrl, HostsOffTheListAndLocalSchemesAreRefused) {
    for (const std::string tpl :
         {"http://169.254.169.254/{id}", "file:///etc/{id}", "chrome://version/{id}",
          "http://127.0.0.2/{id}", "http://metadata.google.internal/{id}"}) {
        auto c = shop();
        c.url_template = tpl;
        const auto u = url_builder(c).url_for("1");
        EXPECT_TRUE(u.url.empty()) << tpl;
        EXPECT_EQ(u.problem.rfind("refused: ", 0), 0u) << tpl << ": " << u.problem;
    }
}

field_spec spec(field_type t, std::optional<std::string> regex = std::nullopt) {
    field_spec f;
    f.name = "f";
    f.type = t;
    f.regex = std::move(regex);
    return f;
}

TEST(FieldValues, PricesInTheShapesShopsWriteThem) {
    EXPECT_EQ(parse_price("12,345원"), 12345);
    EXPECT_EQ(parse_price("₩12,345"), 12345);
    EXPECT_EQ(parse_price("$1,299.00"), 1299);
    EXPECT_EQ(parse_price("$1,299.50"), 1299.5);
    EXPECT_EQ(parse_price("1.299,50 €"), 1299.5);
    EXPECT_EQ(parse_price("1 299 000 KRW"), 1299000);
    EXPECT_EQ(parse_price("판매가 39,000원"), 39000);
    EXPECT_EQ(parse_price("no price"), std::nullopt);
    EXPECT_EQ(parse_price("10,000원 → 8,000원"), std::nullopt) << "two numbers: which one?";
    EXPECT_EQ(convert_field(spec(field_type::price), std::string("12,345원")).value, 12345);
    EXPECT_EQ(convert_field(spec(field_type::price), std::string("sold out")).problem,
              "'sold out' is not a price");
}

TEST(FieldValues, TypesRegexAndMissingElements) {
    EXPECT_EQ(convert_field(spec(field_type::string), std::string("  Cream \n")).value, "Cream");
    EXPECT_EQ(convert_field(spec(field_type::integer), std::string("1,234")).value, 1234);
    EXPECT_FALSE(convert_field(spec(field_type::integer), std::string("12a")).problem.empty());
    EXPECT_EQ(convert_field(spec(field_type::boolean), std::string("Yes")).value, true);
    EXPECT_EQ(convert_field(spec(field_type::json), std::string("{\"a\":1}")).value["a"], 1);
    EXPECT_FALSE(convert_field(spec(field_type::json), std::string("{")).problem.empty());
    EXPECT_EQ(
        convert_field(spec(field_type::integer, "stock: (\\d+)"), std::string("stock: 12")).value,
        12);
    EXPECT_NE(convert_field(spec(field_type::string, "^x"), std::string("y"))
                  .problem.find("does not match"),
              std::string::npos);
    const auto missing = convert_field(spec(field_type::string), std::nullopt);
    EXPECT_TRUE(missing.value.is_null());
    EXPECT_TRUE(missing.problem.empty());
}

} // namespace
} // namespace rotor::nodes

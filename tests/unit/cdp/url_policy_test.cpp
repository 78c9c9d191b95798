// url_policy: which URLs a page may reach, without I/O.
#include "cdp/detail/url_parts.hpp"
#include "cdp/url_policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

namespace rotor::cdp {
namespace {

using ::testing::HasSubstr;
using hosts = std::vector<std::string>;

url_check any_host(std::string_view url) {
    return check_url(url, {});
}

TEST(UrlPolicy, RefusesLocalSchemesEvenWithNoHostsListed) {
    for (const char* url : {"file:///etc/passwd", "chrome://version", "data:text/html,<b>x</b>",
                            "javascript:alert(1)", "blob:http://shop.example/1", "ftp://x.example/",
                            "view-source:http://shop.example/", "FILE:///etc/passwd"}) {
        const auto c = any_host(url);
        EXPECT_FALSE(c.allowed) << url;
        EXPECT_THAT(c.reason, HasSubstr("is never allowed")) << url;
        EXPECT_THAT(c.reason, HasSubstr(url)) << url;
    }
    EXPECT_THAT(any_host("file:///etc/passwd").reason, HasSubstr("scheme file:"));
    EXPECT_TRUE(any_host("about:blank").allowed);
    EXPECT_TRUE(any_host("about:srcdoc").allowed);
    EXPECT_FALSE(any_host("about:version").allowed);
}

TEST(UrlPolicy, RefusesMetadataAndLinkLocalInEveryNotation) {
    for (const char* url : {"http://169.254.169.254/latest/meta-data/",
                            "http://169.254.169.254:80/",
                            "http://2852039166/",
                            "http://0xA9FEA9FE/",
                            "http://0251.0376.0251.0376/",
                            "http://169.254.43518/",
                            "http://0xa9.254.169.254/",
                            "http://169%2e254.169.254/",
                            "HTTP://169.254.169.254./",
                            "http://user:pw@169.254.169.254/",
                            "http:\\\\169.254.1.1\\x",
                            "http:169.254.169.254/",
                            "  http://169.254.169.254/  ",
                            "ht\ttp://169.254.169.254/",
                            "http://metadata.google.internal/computeMetadata/v1/",
                            "http://METADATA.google.internal./",
                            "http://metadata/",
                            "http://metadata.goog/",
                            "http://100.100.100.200/",
                            "http://[fe80::1]/",
                            "http://[FEBF::1]:8080/",
                            "http://[fd00:ec2::254]/",
                            "http://[::ffff:169.254.169.254]/",
                            "http://[::ffff:a9fe:a9fe]/",
                            "http://[::169.254.169.254]/",
                            "http://[64:ff9b::a9fe:a9fe]/",
                            "http://0.0.0.0:8080/",
                            "http://0/",
                            "http://[::]/",
                            "http://224.0.0.1/",
                            "http://255.255.255.255/",
                            "ws://169.254.169.254/"}) {
        for (const auto& allowed : {hosts{}, hosts{"shop.example"}}) {
            const auto c = check_url(url, allowed, {.allow_private_addresses = true});
            EXPECT_FALSE(c.allowed) << url;
            EXPECT_THAT(c.reason, HasSubstr("always refused")) << url << ": " << c.reason;
        }
    }
    EXPECT_THAT(any_host("http://2852039166/").reason,
                HasSubstr("169.254.169.254 is a link-local address"));
    EXPECT_THAT(any_host("http://[::ffff:a9fe:a9fe]/").reason,
                HasSubstr("IPv6 form of IPv4 address 169.254.169.254"));
}

TEST(UrlPolicy, PrivateAddressesNeedListingOrTheOption) {
    for (const char* url :
         {"http://127.0.0.1:8080/", "http://127.1/", "http://localhost/", "http://a.localhost/",
          "http://10.1.2.3/", "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.1/",
          "http://100.64.0.1/", "http://[::1]/", "http://[fd00::1]/", "http://[fc12:3456::1]/",
          "http://[fec0::1]/"}) {
        const auto c = any_host(url);
        EXPECT_FALSE(c.allowed) << url;
        EXPECT_THAT(c.reason, HasSubstr("allow private addresses")) << url;
        EXPECT_TRUE(check_url(url, {}, {.allow_private_addresses = true}).allowed) << url;
    }
    EXPECT_THAT(any_host("http://[fd00::1]/").reason, HasSubstr("unique local address"));
    // Neighbours of the ranges are public.
    for (const char* url : {"http://172.15.0.1/", "http://172.32.0.1/", "http://100.128.0.1/",
                            "http://11.0.0.1/", "http://[fb00::1]/", "http://[2001:db8::1]/"}) {
        EXPECT_TRUE(any_host(url).allowed) << url << ": " << any_host(url).reason;
    }
    // Listing a private host opens it (and only it).
    const hosts listed{"127.0.0.1"};
    EXPECT_TRUE(check_url("http://127.0.0.1:8080/x", listed).allowed);
    EXPECT_TRUE(check_url("http://127.1:8080/x", listed).allowed);
    const auto other = check_url("http://127.0.0.2:8080/x", listed);
    EXPECT_FALSE(other.allowed);
    EXPECT_THAT(other.reason, HasSubstr("127.0.0.2 is a loopback address"));
    // The option opens private addresses, not hosts off the list.
    EXPECT_FALSE(check_url("http://127.0.0.2/", listed, {.allow_private_addresses = true}).allowed);
}

TEST(UrlPolicy, AllowsOnlyListedHosts) {
    const hosts allowed{"shop.example", "*.cdn.example", "api.example:8443", "[2001:db8::1]",
                        "203.0.113.7:80"};
    const url_policy policy(allowed);
    for (const char* url : {"https://shop.example/goods/12", "http://SHOP.example.:8080/",
                            "https://img.cdn.example/a.png", "https://a.b.cdn.example/",
                            "https://api.example:8443/v1", "http://[2001:db8:0::1]:81/",
                            "http://203.0.113.7/", "ws://shop.example/socket"}) {
        EXPECT_TRUE(policy.check(url).allowed) << url << ": " << policy.check(url).reason;
    }
    for (const char* url : {"https://other.example/", "https://cdn.example/",
                            "https://api.example/", "https://api.example:8444/",
                            "http://203.0.113.7:8080/", "https://shop.example.evil.test/",
                            "https://evilshop.example/", "https://x.cdn.example.evil.test/"}) {
        const auto c = policy.check(url);
        EXPECT_FALSE(c.allowed) << url;
        EXPECT_THAT(c.reason, HasSubstr("is not in allowed_hosts (shop.example, *.cdn.example, "
                                        "api.example:8443, [2001:db8::1], 203.0.113.7:80)"))
            << url;
        EXPECT_THAT(c.reason, HasSubstr(url));
    }
}

TEST(UrlPolicy, RefusesWhatIsNotAUrl) {
    for (const char* url :
         {"", "shop.example/goods", "://x", "http://", "http://1.2.3.09/",
          "http://shop.example:99999/", "http://shop.example:8o/", "http://[::1/",
          "http://[1::2::3]/", "http://sh op.example/", "http://256.1.1.1/", "http://1.2.3.4.5/",
          "http://xn--caf.example%C3%A9/", "http://café.example/"}) {
        const auto c = any_host(url);
        EXPECT_FALSE(c.allowed) << url;
        EXPECT_THAT(c.reason, HasSubstr("not a URL")) << url << ": " << c.reason;
    }
    EXPECT_THAT(any_host("http://café.example/").reason, HasSubstr("punycode"));
    EXPECT_THAT(any_host("http://shop.example:99999/").reason, HasSubstr("bad port 99999"));
}

TEST(UrlPolicy, HostRulesAreValidated) {
    EXPECT_EQ(check_host_rule("shop.example"), "");
    EXPECT_EQ(check_host_rule("*.example.com"), "");
    EXPECT_EQ(check_host_rule("127.0.0.1:8080"), "");
    EXPECT_EQ(check_host_rule("[::1]:8080"), "");
    EXPECT_THAT(check_host_rule("https://shop.example/"), HasSubstr("not a URL"));
    EXPECT_THAT(check_host_rule("*"), HasSubstr("an empty list allows every host"));
    EXPECT_THAT(check_host_rule("shop.*.example"), HasSubstr("'*' only as a leading"));
    EXPECT_THAT(check_host_rule("::1"), HasSubstr("needs brackets"));
    EXPECT_THAT(check_host_rule("shop.example:0"), HasSubstr("bad port"));
    EXPECT_THAT(check_host_rule("shop.example:"), HasSubstr("bad port"));
    EXPECT_THAT(check_host_rule("*.10.0.0.1"), HasSubstr("needs a domain"));
    EXPECT_THAT(check_host_rule("169.254.169.254"), HasSubstr("always refused"));
    EXPECT_THAT(check_host_rule("metadata.google.internal"), HasSubstr("always refused"));
    EXPECT_THROW(url_policy({"ok.example", "bad/"}), std::invalid_argument);
    // check_url refuses (never throws) when a rule is unusable, and names it.
    const auto c = check_url("http://ok.example/", {"ok.example", "http://x/"});
    EXPECT_FALSE(c.allowed);
    EXPECT_THAT(c.reason, HasSubstr("allowed_hosts entry \"http://x/\""));
}

TEST(UrlPolicy, BlockRulesAllowListedHostsThenBlockEverythingElse) {
    const url_policy policy({"shop.example", "*.cdn.example", "127.0.0.1:8080", "[::1]:443"});
    const auto rules = policy.blocked_url_rules({"*://*:*/*.woff2"});
    std::vector<std::pair<std::string, bool>> got;
    for (const auto& r : rules.url_patterns) got.emplace_back(r.url_pattern, r.block);
    const std::vector<std::pair<std::string, bool>> want = {
        {"*://*:*/*.woff2", true},        {"*://shop.example:*/*", false},
        {"*://*.cdn.example:*/*", false}, {"*://127.0.0.1:8080/*", false},
        {R"(*://[\:\:1]:443/*)", false},  {R"(https://[\:\:1]/*)", false},
        {R"(wss://[\:\:1]/*)", false},    {"*://*:*/*", true}};
    EXPECT_EQ(got, want);
    EXPECT_TRUE(rules.wildcards.empty()); // the block-all rule covers the ranges
    EXPECT_EQ(policy.document_pause_patterns(), std::vector<std::string>{"*"});
    EXPECT_EQ(policy.proxy_bypass_list(),
              "<-loopback>;shop.example;*.cdn.example;127.0.0.1:8080;[::1]:443");
}

// Chromium's wildcards over the whole URL: '*' is any run in both; '?' is one character in
// Fetch's urlPattern but a plain '?' in setBlockedURLs' urls (Blink matches only '*' there).
bool wildcard_match(std::string_view pattern, std::string_view text, bool question_mark) {
    if (pattern.empty()) return text.empty();
    if (pattern.front() == '*') {
        for (std::size_t i = 0; i <= text.size(); ++i) {
            if (wildcard_match(pattern.substr(1), text.substr(i), question_mark)) return true;
        }
        return false;
    }
    return !text.empty() &&
           ((question_mark && pattern.front() == '?') || pattern.front() == text.front()) &&
           wildcard_match(pattern.substr(1), text.substr(1), question_mark);
}

// Fetch.enable patterns.
bool any_match(const std::vector<std::string>& patterns, std::string_view url) {
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return wildcard_match(p, url, true); });
}

// setBlockedURLs urls.
bool any_blocked(const std::vector<std::string>& wildcards, std::string_view url) {
    return std::any_of(wildcards.begin(), wildcards.end(),
                       [&](const std::string& p) { return wildcard_match(p, url, false); });
}

TEST(UrlPolicy, WithNoHostsListedOnlyRefusedRangesAreBlockedAndPaused) {
    const url_policy strict({});
    const url_policy open({}, {.allow_private_addresses = true});
    const auto strict_rules = strict.blocked_url_rules({"*://*:*/*.mp4"});
    const auto open_rules = open.blocked_url_rules({});
    ASSERT_EQ(strict_rules.url_patterns.size(), 1u);
    EXPECT_TRUE(open_rules.url_patterns.empty());
    // Canonical URLs as Chromium requests them.
    for (const char* url :
         {"http://169.254.169.254/latest", "http://0.0.0.0:8080/",
          "http://metadata.google.internal/x", "http://metadata.google.internal.:80/",
          "http://metadata/", "http://100.100.100.200/", "http://[fe80::1]/",
          "http://[fd00:ec2::254]/", "http://[::ffff:a9fe:a9fe]/", "http://224.0.0.1/",
          "http://239.1.2.3/", "http://255.255.255.255/", "https://[::]:443/",
          "http://u@169.254.169.254/latest", "http://u:p@metadata.google.internal/"}) {
        EXPECT_TRUE(any_blocked(open_rules.wildcards, url)) << url;
        EXPECT_TRUE(any_match(open.document_pause_patterns(), url)) << url;
    }
    for (const char* url :
         {"http://10.1.2.3/", "http://127.0.0.2:99/", "http://localhost/",
          "http://a.localhost:8080/", "http://172.20.1.1/", "http://172.17.0.1:2375/",
          "http://172.31.255.1/", "http://192.168.0.1/", "http://100.64.1.1/",
          "http://100.127.0.1/", "http://u@10.0.0.1/", "http://[::1]/", "http://[fd12:3456::1]/"}) {
        EXPECT_TRUE(any_blocked(strict_rules.wildcards, url)) << url;
        EXPECT_FALSE(any_blocked(open_rules.wildcards, url)) << url;
        EXPECT_TRUE(any_match(strict.document_pause_patterns(), url)) << url;
    }
    for (const char* url :
         {"https://shop.example/", "https://0.gravatar.com/avatar/1",
          "https://metadata.example.com/", "https://metadatafoo/", "https://localhost.example/",
          "http://203.0.113.7/", "http://[2001:db8::1]/", "http://172.15.0.1/",
          "http://172.32.0.1/", "http://100.63.0.1/", "http://100.128.0.1/", "http://223.1.2.3/"}) {
        EXPECT_FALSE(any_blocked(strict_rules.wildcards, url)) << url;
    }
    // Documents with user info are paused too (and decided by check()).
    EXPECT_TRUE(any_match(open.document_pause_patterns(), "http://u:p@169.254.169.254/"));
    EXPECT_FALSE(any_match(open.document_pause_patterns(), "https://shop.example/goods/1"));
    EXPECT_TRUE(strict.proxy_bypass_list().empty());
}

// A wildcard that covers a metadata name would open it to subresources, WebSockets and the proxy
// bypass list.
TEST(UrlPolicy, WildcardHostsCoveringAMetadataNameAreRefused) {
    for (const char* rule : {"*.internal", "*.google.internal", "*.goog", "*.ec2.internal"}) {
        EXPECT_THROW(url_policy({rule}), std::invalid_argument) << rule;
    }
    EXPECT_NO_THROW(url_policy({"*.shop.example", "*.cdn.example.com"}));
}

TEST(UrlParts, CanonicalizesLikeTheUrlStandard) {
    using detail::parse_url;
    using detail::url_parts;
    const auto host_of = [](std::string_view url) {
        auto p = parse_url(url);
        return std::holds_alternative<url_parts>(p) ? std::get<url_parts>(p).host
                                                    : "error: " + std::get<std::string>(p);
    };
    EXPECT_EQ(host_of("http://0x7f.1/"), "127.0.0.1");
    EXPECT_EQ(host_of("http://017700000001/"), "127.0.0.1");
    EXPECT_EQ(host_of("http://[0:0:0:0:0:0:0:1]/"), "[::1]");
    EXPECT_EQ(host_of("http://[2001:DB8:0:0:1:0:0:1]/"), "[2001:db8::1:0:0:1]");
    EXPECT_EQ(host_of("http://[::ffff:1.2.3.4]/"), "[::ffff:102:304]");
    EXPECT_EQ(host_of("http://[1:0:0:2::3:0]/"), "[1::2:0:0:3:0]");
    EXPECT_EQ(host_of("http://Shop.Example./"), "shop.example");
    EXPECT_EQ(std::get<url_parts>(parse_url("https://x.example/")).port, 443);
    EXPECT_EQ(std::get<url_parts>(parse_url("ws://x.example:/")).port, 80);
    EXPECT_EQ(std::get<url_parts>(parse_url("http://x.example:8080/")).port, 8080);
}

// Where a connection is opened (an HTTP client's socket callback): the resolved address.
TEST(UrlPolicy, ResolvedAddressesAreCheckedAgainstTheName) {
    const url_policy shop({"shop.example", "127.0.0.1", "localhost"});
    EXPECT_TRUE(shop.check_address("https://shop.example/x", "93.184.216.34").allowed);
    for (const char* bad : {"169.254.169.254", "100.100.100.200", "fd00:ec2::254", "0.0.0.0",
                            "fe80::1", "::ffff:127.0.0.1"}) {
        const auto c = shop.check_address("https://shop.example/x", bad);
        EXPECT_FALSE(c.allowed) << bad;
        EXPECT_NE(c.reason.find("shop.example resolved to"), std::string::npos) << c.reason;
    }
    for (const char* rebinding : {"127.0.0.1", "10.1.2.3", "192.168.0.9", "::1"}) {
        const auto c = shop.check_address("https://shop.example/x", rebinding);
        EXPECT_FALSE(c.allowed) << rebinding << ": a public name led to a private address";
    }
    EXPECT_TRUE(shop.check_address("http://127.0.0.1:8080/x", "127.0.0.1").allowed);
    EXPECT_TRUE(shop.check_address("http://localhost:8080/x", "::1").allowed);
    EXPECT_FALSE(shop.check_address("http://localhost:8080/x", "169.254.169.254").allowed);
    url_policy_options internal;
    internal.allow_private_addresses = true;
    const url_policy inside({"api.internal.example"}, internal);
    EXPECT_TRUE(inside.check_address("https://api.internal.example/", "10.0.0.5").allowed);
    EXPECT_FALSE(inside.check_address("https://api.internal.example/", "169.254.169.254").allowed);
    EXPECT_FALSE(shop.check_address("https://shop.example/x", "not-an-ip").allowed);
}

} // namespace
} // namespace rotor::cdp

// page_profile::key(): pages and contexts are shared only between equal keys.
#include "cdp/page_profile.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>

namespace rotor::cdp {
namespace {

page_profile typical() {
    page_profile p;
    p.name = "shop";
    p.headers = {{"Accept-Language", "ko-KR"}};
    p.user_agent = "rotor/1.0";
    p.view = viewport{1280, 800, 1.0, false};
    p.cookies = {{"session", "a1", "shop.example"}};
    p.block_types = {resource_type::image, resource_type::font};
    p.block_url_patterns = {"*://*:*/*.mp4"};
    p.allowed_hosts = {"shop.example", "*.cdn.example"};
    return p;
}

TEST(PageProfileKey, IsStableAndIgnoresTheOrderOfHostsAndTypes) {
    const std::string key = typical().key();
    EXPECT_EQ(key.size(), 16u);
    EXPECT_EQ(key, typical().key());
    auto reordered = typical();
    reordered.allowed_hosts = {"*.cdn.example", "shop.example"};
    reordered.block_types = {resource_type::font, resource_type::image, resource_type::font};
    EXPECT_EQ(reordered.key(), key);
    // Fixed across builds and processes (a pool may compare keys it logged or stored).
    EXPECT_EQ(page_profile{}.key(), page_profile{}.key());
    EXPECT_EQ(page_profile{}.key(), "a6c8e802ab8e2ce7");
}

TEST(PageProfileKey, EveryFieldCounts) {
    const std::vector<std::function<void(page_profile&)>> changes = {
        [](page_profile& p) { p.name = "other"; },
        [](page_profile& p) { p.headers["Accept-Language"] = "en-US"; },
        [](page_profile& p) { p.user_agent.clear(); },
        [](page_profile& p) { p.view->mobile = true; },
        [](page_profile& p) { p.view.reset(); },
        [](page_profile& p) { p.cookies[0].value = "a2"; },
        [](page_profile& p) { p.cookies[0].http_only = true; },
        [](page_profile& p) { p.block_types.pop_back(); },
        [](page_profile& p) { p.block_url_patterns.emplace_back("*://*:*/*.webm"); },
        [](page_profile& p) { p.allowed_hosts.emplace_back("api.example"); },
        [](page_profile& p) { p.allow_private_addresses = true; },
    };
    std::set<std::string> keys = {typical().key()};
    for (const auto& change : changes) {
        auto p = typical();
        change(p);
        keys.insert(p.key());
    }
    EXPECT_EQ(keys.size(), changes.size() + 1);
}

} // namespace
} // namespace rotor::cdp

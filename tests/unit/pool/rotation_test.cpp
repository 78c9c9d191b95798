#include "pool/launch_flags.hpp"
#include "pool/rotation.hpp"
#include "pool/shm.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace rotor::pool {
namespace {

bool has(const std::vector<std::string>& flags, const std::string& flag) {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

TEST(Rotation, PageRotatesEveryNItems) {
    rotation_limits limits;
    limits.page_rotation_every = 10;
    EXPECT_FALSE(decide_after_item(limits, {9, 9, 9}, false).replace_page);
    EXPECT_TRUE(decide_after_item(limits, {10, 10, 10}, false).replace_page);
}

TEST(Rotation, ContextRetiresEveryMItemsAndTakesItsPage) {
    rotation_limits limits;
    limits.context_rotation_every = 50;
    auto d = decide_after_item(limits, {3, 49, 49}, false);
    EXPECT_FALSE(d.retire_context);
    d = decide_after_item(limits, {3, 50, 50}, false);
    EXPECT_TRUE(d.retire_context);
    EXPECT_TRUE(d.replace_page);
    EXPECT_FALSE(d.recycle_browser);
}

TEST(Rotation, BrowserRecyclesOnCountAndBrokenPagesAlwaysGo) {
    rotation_limits limits;
    limits.browser_recycle_every = 500;
    EXPECT_TRUE(decide_after_item(limits, {1, 1, 500}, false).recycle_browser);
    EXPECT_FALSE(decide_after_item(limits, {1, 1, 499}, false).recycle_browser);
    EXPECT_TRUE(decide_after_item(limits, {1, 1, 1}, true).replace_page);
}

TEST(Rotation, ZeroMeansNever) {
    rotation_limits limits{0, 0, 0, 0};
    const auto d = decide_after_item(limits, {100000, 100000, 100000}, false);
    EXPECT_FALSE(d.replace_page);
    EXPECT_FALSE(d.retire_context);
    EXPECT_FALSE(d.recycle_browser);
    EXPECT_FALSE(over_memory_budget(limits, 1e9));
}

TEST(Rotation, MemoryBudget) {
    rotation_limits limits;
    limits.memory_budget_mb = 800;
    EXPECT_FALSE(over_memory_budget(limits, 799.9));
    EXPECT_TRUE(over_memory_budget(limits, 800.1));
}

TEST(Shm, AutoFollowsTheDocumentedRule) {
    EXPECT_EQ(shm_needed_mb(1), 512u);
    EXPECT_EQ(shm_needed_mb(4), 512u);
    EXPECT_EQ(shm_needed_mb(8), 1024u);
    // Docker's default 64 MB.
    auto d = decide_shm(shm_mode::auto_detect, {true, 64, 64}, 4);
    EXPECT_TRUE(d.disable_dev_shm_usage);
    EXPECT_NE(d.reason.find("64 MB free of 64 MB < 512 MB"), std::string::npos) << d.reason;
    // compose's shm_size: 2gb.
    d = decide_shm(shm_mode::auto_detect, {true, 2048, 2000}, 8);
    EXPECT_FALSE(d.disable_dev_shm_usage);
    // Big but nearly full.
    EXPECT_TRUE(decide_shm(shm_mode::auto_detect, {true, 8192, 100}, 2).disable_dev_shm_usage);
    EXPECT_TRUE(decide_shm(shm_mode::auto_detect, {false, 0, 0}, 1).disable_dev_shm_usage);
}

TEST(Shm, ModesOverrideTheRule) {
    EXPECT_FALSE(decide_shm(shm_mode::use, {true, 64, 64}, 4).disable_dev_shm_usage);
    EXPECT_TRUE(decide_shm(shm_mode::avoid, {true, 8192, 8192}, 1).disable_dev_shm_usage);
    EXPECT_EQ(shm_mode_from_string("avoid"), shm_mode::avoid);
    EXPECT_EQ(to_string(shm_mode_from_string("auto")), "auto");
    EXPECT_THROW(shm_mode_from_string("sometimes"), std::invalid_argument);
}

TEST(LaunchFlags, LeanModelCapsRenderersInOneDisableFeaturesFlag) {
    flag_options options;
    options.pages_per_browser = 4;
    const auto flags = launch_flags(options, decide_shm(shm_mode::use, {true, 4096, 4096}, 4));
    EXPECT_TRUE(has(flags, "--renderer-process-limit=4"));
    EXPECT_TRUE(has(flags, "--disable-site-isolation-trials"));
    EXPECT_TRUE(has(flags, "--disable-extensions"));
    EXPECT_TRUE(has(flags, "--enable-low-end-device-mode"));
    EXPECT_FALSE(has(flags, "--disable-dev-shm-usage"));
    const auto n = std::count_if(flags.begin(), flags.end(), [](const std::string& f) {
        return f.rfind("--disable-features=", 0) == 0;
    });
    EXPECT_EQ(n, 1); // Chromium keeps only the last one
    const auto features = *std::find_if(flags.begin(), flags.end(), [](const std::string& f) {
        return f.rfind("--disable-features=", 0) == 0;
    });
    EXPECT_NE(features.find("site-per-process"), std::string::npos);
    EXPECT_NE(features.find("BackForwardCache"), std::string::npos);
}

TEST(LaunchFlags, IsolatedModelShmAndExtras) {
    flag_options options;
    options.model = process_model::isolated;
    options.user_agent = "ua/1";
    options.proxy = "http://127.0.0.1:3128";
    options.extra = {"--lang=ko-KR"};
    const auto flags = launch_flags(options, decide_shm(shm_mode::avoid, {true, 64, 64}, 4));
    EXPECT_FALSE(std::any_of(flags.begin(), flags.end(), [](const std::string& f) {
        return f.rfind("--renderer-process-limit", 0) == 0;
    }));
    EXPECT_TRUE(has(flags, "--disable-dev-shm-usage"));
    EXPECT_TRUE(has(flags, "--user-agent=ua/1"));
    EXPECT_TRUE(has(flags, "--proxy-server=http://127.0.0.1:3128"));
    EXPECT_EQ(flags.back(), "--lang=ko-KR");
    EXPECT_THROW(process_model_from_string("fast"), std::invalid_argument);
}

TEST(LaunchFlags, RemoveTakesOutFlagsByNameAndFeaturesFromTheOneList) {
    flag_options options;
    options.remove = {"--disable-extensions", "--renderer-process-limit", "BackForwardCache"};
    options.extra = {"--enable-low-end-device-mode"};
    const auto flags = launch_flags(options, decide_shm(shm_mode::use, {true, 4096, 4096}, 4));
    EXPECT_FALSE(has(flags, "--disable-extensions"));
    EXPECT_TRUE(has(flags, "--disable-default-apps"));
    EXPECT_FALSE(std::any_of(flags.begin(), flags.end(), [](const std::string& f) {
        return f.rfind("--renderer-process-limit", 0) == 0;
    }));
    const auto features = *std::find_if(flags.begin(), flags.end(), [](const std::string& f) {
        return f.rfind("--disable-features=", 0) == 0;
    });
    EXPECT_EQ(features.find("BackForwardCache"), std::string::npos);
    EXPECT_NE(features.find("RenderDocument"), std::string::npos);
    EXPECT_EQ(flags.back(), "--enable-low-end-device-mode");
}

TEST(LaunchFlags, ExtraFeatureListsMergeWithThePoolsOwn) {
    flag_options options;
    options.extra = {"--disable-features=Foo,BackForwardCache", "--lang=ko-KR",
                     "--disable-blink-features=Notifications",
                     "--enable-features=NetworkServiceInProcess", "--disable-features=Bar"};
    const auto flags = launch_flags(options, {});
    std::vector<std::string> disable;
    std::vector<std::string> enable;
    for (const auto& f : flags) {
        if (f.rfind("--disable-features=", 0) == 0) disable.push_back(f);
        if (f.rfind("--enable-features=", 0) == 0) enable.push_back(f);
    }
    ASSERT_EQ(disable.size(), 1u) << "Chromium keeps only the last --disable-features";
    for (const char* feature : {"Translate", "site-per-process", "Foo", "Bar"}) {
        EXPECT_NE(disable[0].find(feature), std::string::npos) << feature << " in " << disable[0];
    }
    EXPECT_EQ(disable[0].find("BackForwardCache"), disable[0].rfind("BackForwardCache"));
    EXPECT_EQ(enable, (std::vector<std::string>{"--enable-features=NetworkServiceInProcess"}));
    EXPECT_NE(std::find(flags.begin(), flags.end(), "--lang=ko-KR"), flags.end());
    EXPECT_EQ(std::count_if(flags.begin(), flags.end(),
                            [](const std::string& f) {
                                return f.rfind("--disable-blink-features=", 0) == 0;
                            }),
              1);
    EXPECT_NE(std::find(flags.begin(), flags.end(),
                        "--disable-blink-features=AutomationControlled,Notifications"),
              flags.end());
}

} // namespace
} // namespace rotor::pool

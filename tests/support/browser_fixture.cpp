#include "browser_fixture.hpp"

namespace rotor::test {

cdp::browser_options test_browser_options(const std::filesystem::path& profile_root) {
    cdp::browser_options options;
    options.launch.profile_root = profile_root;
    options.command_timeout = std::chrono::seconds(20);
    options.close_grace = std::chrono::milliseconds(1500);
    return options;
}

void BrowserTest::SetUp() {
    browser_ = cdp::browser::launch(test_browser_options(profiles_.path()));
    pgid_ = browser_->pid();
    run_dir_ = browser_->run_dir();
}

void BrowserTest::TearDown() {
    if (browser_) browser_->close();
    browser_.reset();
    // Nothing may outlive close(): not a renderer, not a zombie, not a crashpad handler.
    EXPECT_TRUE(cdp::process_group_members(pgid_).empty())
        << "Chromium processes left in group " << pgid_;
    EXPECT_TRUE(cdp::processes_mentioning(run_dir_.string()).empty())
        << "processes still mention " << run_dir_;
    EXPECT_FALSE(std::filesystem::exists(run_dir_)) << run_dir_ << " was not removed";
}

} // namespace rotor::test

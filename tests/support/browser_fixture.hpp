#pragma once
// GoogleTest fixture for tests against real Chromium and the in-process fixture shop: a fresh
// browser (profile under a per-test temp dir) per test, killed and checked in TearDown.

#include "cdp/browser.hpp"
#include "shop_server.hpp"
#include "temp_dir.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>

namespace rotor::test {

/// Runs `work` on `b`'s I/O thread and waits at most `deadline` (a hang fails the test instead of
/// blocking CI). Rethrows what `work` threw.
template <typename T>
T await_for(cdp::browser& b, boost::asio::awaitable<T> work,
            std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
    auto done = boost::asio::co_spawn(b.get_executor(), std::move(work), boost::asio::use_future);
    if (done.wait_for(deadline) != std::future_status::ready) {
        throw std::runtime_error("test deadline of " + std::to_string(deadline.count()) +
                                 " ms passed");
    }
    return done.get();
}

cdp::browser_options test_browser_options(const std::filesystem::path& profile_root);

class BrowserTest : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

    std::string url(const std::string& path) const { return shop_.base_url() + path; }
    std::string product_url(std::uint64_t id) const {
        return url("/product/" + std::to_string(id));
    }

    temp_dir profiles_{"rotor-profiles"};
    fixture::shop_server shop_;
    std::unique_ptr<cdp::browser> browser_;
    pid_t pgid_ = 0;
    std::filesystem::path run_dir_;
};

} // namespace rotor::test

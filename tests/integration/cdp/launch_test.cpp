// What a launched Chromium gets from the worker: no descriptors, its own temp directory.
#include "browser_fixture.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <set>

namespace rotor::test {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;

// The targets of /proc/<pid>/fd/* ("socket:[123]", "/path/file", ...).
std::set<std::string> descriptor_targets(pid_t pid) {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code link_ec;
        const auto target = fs::read_symlink(entry.path(), link_ec);
        if (!link_ec) out.insert(target.string());
    }
    return out;
}

std::string target_of(int fd) {
    return fs::read_symlink("/proc/self/fd/" + std::to_string(fd)).string();
}

// Sockets and files of ours that no Chromium may hold (not anon inodes: all pidfds, epolls and
// eventfds of every process share one link text each).
std::set<std::string> our_sockets_and_files() {
    std::set<std::string> out;
    for (const auto& t : descriptor_targets(::getpid())) {
        if (t.rfind("socket:", 0) == 0 || (t.rfind("/", 0) == 0 && t.rfind("/dev/", 0) != 0)) {
            out.insert(t);
        }
    }
    return out;
}

std::vector<std::string> leaked_into(const cdp::browser& b, const std::set<std::string>& ours) {
    std::vector<std::string> leaked;
    for (pid_t pid : b.process_ids()) {
        for (const auto& t : descriptor_targets(pid)) {
            if (ours.count(t) != 0) leaked.push_back(std::to_string(pid) + ": " + t);
        }
    }
    return leaked;
}

TEST(LaunchedChromium, InheritsNoDescriptorOfTheWorker) {
    temp_dir root("rotor-fds");
    // A listening socket and a file without close-on-exec, as Asio and a plain open() leave them.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    const int file = ::open((root.path() / "worker.data").c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(file, 0);
    ASSERT_EQ(::fcntl(listener, F_GETFD) & FD_CLOEXEC, 0);
    ASSERT_EQ(::fcntl(file, F_GETFD) & FD_CLOEXEC, 0);
    const std::string listener_target = target_of(listener);
    const std::string file_target = target_of(file);

    auto first = cdp::browser::launch(test_browser_options(root.path() / "profiles"));
    // The second launch happens while the first browser's DevTools connection is open here.
    const auto ours = our_sockets_and_files();
    ASSERT_EQ(ours.count(listener_target), 1u);
    ASSERT_EQ(ours.count(file_target), 1u);
    auto second = cdp::browser::launch(test_browser_options(root.path() / "profiles"));

    EXPECT_EQ(leaked_into(*first, {listener_target, file_target}), std::vector<std::string>{});
    EXPECT_EQ(leaked_into(*second, ours), std::vector<std::string>{});
    EXPECT_NE(first->run(first->version()).value("product", ""), "");
    EXPECT_NE(second->run(second->version()).value("product", ""), "");
    second->close();
    first->close();
    ::close(listener);
    ::close(file);
}

// Sets an environment variable for one scope (tests only: setenv is not thread-safe).
class scoped_env {
  public:
    scoped_env(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~scoped_env() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

std::vector<std::string> chromium_temp_entries(const fs::path& dir) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (name.rfind("org.chromium.Chromium.", 0) == 0) found.push_back(name);
    }
    return found;
}

// Launches a browser under `profile_root` with the worker's TMPDIR at `tmpdir`, navigates one
// page and closes it; returns the page's status.
int launch_navigate_close(const fs::path& profile_root, const fs::path& tmpdir) {
    const scoped_env tmpdir_env("TMPDIR", tmpdir.string());
    fixture::shop_server shop;
    auto b = cdp::browser::launch(test_browser_options(profile_root));
    const int status = b->run([](cdp::browser& br, std::string target) -> asio::awaitable<int> {
        auto page = co_await br.new_page();
        auto nav = co_await page->navigate(std::move(target));
        co_await page->close();
        co_return nav.status;
    }(*b, shop.base_url() + "/product/17"));
    b->close();
    return status;
}

TEST(LaunchedChromium, LeavesNothingInTheWorkersTempDirectory) {
    temp_dir tmp("rotor-tmpdir");
    temp_dir profiles("rp"); // short: see ALongProfileRootStillLaunches
    EXPECT_EQ(launch_navigate_close(profiles.path(), tmp.path()), 200);
    EXPECT_EQ(chromium_temp_entries(tmp.path()), std::vector<std::string>{});
}

// Chromium's singleton socket lives in its temp directory and must fit a sockaddr_un (107
// bytes): under a deep profile root the run directory is too deep for it, and Chromium exited
// at start when its TMPDIR was put there anyway.
TEST(LaunchedChromium, ALongProfileRootStillLaunches) {
    temp_dir tmp("rotor-tmpdir");
    temp_dir base("rotor-deep");
    const fs::path deep = base.path() / std::string(60, 'd');
    EXPECT_EQ(launch_navigate_close(deep, tmp.path()), 200);
}

} // namespace
} // namespace rotor::test

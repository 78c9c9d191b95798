// Which run directories under the profile root are stale: their launcher's pid and start time.
#include "cdp/detail/run_dir.hpp"
#include "cdp/launcher.hpp"
#include "cdp/process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace rotor::cdp {
namespace {

namespace fs = std::filesystem;

pid_t a_dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    return child;
}

TEST(RunDirName, ParsesBothForms) {
    const auto current = detail::parse_run_dir_name("run-1-t4242-0-123456");
    ASSERT_TRUE(current);
    EXPECT_EQ(current->pid, 1);
    EXPECT_EQ(current->start_time, 4242u);
    const auto old = detail::parse_run_dir_name("run-1234-7-99");
    ASSERT_TRUE(old);
    EXPECT_EQ(old->pid, 1234);
    EXPECT_FALSE(old->start_time);
    EXPECT_FALSE(detail::parse_run_dir_name("run-0-1-2"));
    EXPECT_FALSE(detail::parse_run_dir_name("run-abc"));
    EXPECT_FALSE(detail::parse_run_dir_name("run-12"));
    EXPECT_FALSE(detail::parse_run_dir_name("run-12-t-1"));
    EXPECT_FALSE(detail::parse_run_dir_name("profile"));
}

TEST(RunDirName, NamesItsLauncherWithItsStartTime) {
    rotor::test::temp_dir root("rotor-rundir");
    const auto dir = detail::make_run_dir(root.path());
    const auto owner = detail::parse_run_dir_name(dir.filename().string());
    ASSERT_TRUE(owner) << dir;
    EXPECT_EQ(owner->pid, ::getpid());
    EXPECT_EQ(owner->start_time, process_start_time(::getpid()));
    EXPECT_TRUE(fs::is_directory(dir / "profile"));
    EXPECT_TRUE(fs::is_directory(dir / "tmp"));
}

TEST(StaleRunDirs, ASameNumberedProcessWithAnotherStartTimeIsNotTheOwner) {
    rotor::test::temp_dir root("rotor-stale");
    const auto me = std::to_string(::getpid());
    const auto started = process_start_time(::getpid());
    ASSERT_TRUE(started);
    const std::string dead = std::to_string(a_dead_pid());
    const std::vector<std::string> stale = {
        "run-" + me + "-t" + std::to_string(*started + 1) + "-0-1", // our pid, another process
        "run-" + me + "-t0-0-2",                                    // our pid, another process
        "run-" + dead + "-t" + std::to_string(*started) + "-0-3",   // nobody with that pid
        "run-" + dead + "-0-4", // the older name form, owner gone
    };
    const std::vector<std::string> live = {
        "run-" + me + "-t" + std::to_string(*started) + "-0-5", // us
        "run-" + me + "-0-6",                                   // older form: the pid decides
        "not-a-run-dir",                                        // not ours to judge
    };
    for (const auto& name : stale) fs::create_directories(root.path() / name / "profile");
    for (const auto& name : live) fs::create_directories(root.path() / name);

    EXPECT_EQ(remove_stale_run_dirs(root.path()), stale.size());
    for (const auto& name : stale) EXPECT_FALSE(fs::exists(root.path() / name)) << name;
    for (const auto& name : live) EXPECT_TRUE(fs::exists(root.path() / name)) << name;
}

} // namespace
} // namespace rotor::cdp

// The sweep reaps exited Chromium children of ours and nothing else.
#include "cdp/process.hpp"
#include "pool/zombie_sweep.hpp"

#include <gtest/gtest.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace rotor::pool {
namespace {

pid_t exited_child(const char* name) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_NAME, name);
        ::_exit(0);
    }
    return pid;
}

void wait_zombie(pid_t pid) {
    for (int i = 0; i < 200 && cdp::process_state(pid) != 'Z'; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

TEST(ZombieSweep, ReapsExitedChromiumChildrenOnly) {
    const pid_t chromium = exited_child("chromium");
    const pid_t crashpad = exited_child("chrome_crashpad");
    const pid_t other = exited_child("redis-server");
    const pid_t kept = exited_child("chromium");
    ASSERT_GT(chromium, 0);
    ASSERT_GT(other, 0);
    wait_zombie(chromium);
    wait_zombie(crashpad);
    wait_zombie(other);
    wait_zombie(kept);
    ASSERT_EQ(cdp::process_state(chromium), 'Z');
    EXPECT_EQ(reap_orphaned_chromium({kept}), 2u);
    EXPECT_EQ(cdp::process_state(kept), 'Z') << "a live browser's own process was reaped";
    EXPECT_EQ(cdp::process_state(chromium), 0);
    EXPECT_EQ(cdp::process_state(crashpad), 0);
    EXPECT_EQ(cdp::process_state(other), 'Z') << "a child that is not Chromium was reaped";
    int status = 0;
    EXPECT_EQ(::waitpid(other, &status, 0), other);
    EXPECT_EQ(::waitpid(kept, &status, 0), kept);
}

} // namespace
} // namespace rotor::pool

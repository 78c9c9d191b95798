// Scanning /proc while processes come and go: a process that exits between open() and read()
// makes the read fail (ESRCH). That is an answer ("gone"), never an exception: an exception there
// once escaped the pool's memory sampler and terminated a worker whose browser was killed.
#include "cdp/process.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace rotor::cdp {
namespace {

// Forks children that live ~200 us, as fast as it can, until stopped.
class churn {
  public:
    churn()
        : thread_([this] {
              while (!stop_) {
                  const pid_t p = ::fork();
                  if (p == 0) {
                      ::usleep(200);
                      ::_exit(0);
                  }
                  if (p > 0) ::waitpid(p, nullptr, 0);
              }
          }) {}
    ~churn() {
        stop_ = true;
        thread_.join();
    }

  private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

TEST(ProcScan, ProcessesExitingWhileTheyAreReadAreNotAnError) {
    churn c;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::size_t scans = 0;
    while (std::chrono::steady_clock::now() < until) {
        ASSERT_NO_THROW({
            processes_mentioning("rotor-no-process-mentions-this");
            process_group_members(::getpgrp());
            process_state(::getpid());
        });
        ++scans;
    }
    EXPECT_GT(scans, 10u);
    EXPECT_EQ(process_state(::getpid()), 'R');
}

TEST(ProcScan, ReadProcFileSaysNothingForWhatCannotBeRead) {
    EXPECT_FALSE(read_proc_file("/proc/self/no-such-file"));
    EXPECT_FALSE(read_proc_file("/proc/self")) << "a directory cannot be read as a file";
    const auto self = read_proc_file("/proc/self/stat");
    ASSERT_TRUE(self);
    EXPECT_EQ(self->rfind(std::to_string(::getpid()) + " (", 0), 0u) << *self;
}

} // namespace
} // namespace rotor::cdp

#pragma once
// A launched Chromium: its process group, its run directory (profile + log), and the shutdown
// that leaves nothing behind.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace rotor::cdp {

/// Every live process (zombies included) whose process group is `pgid`, read from /proc.
std::vector<pid_t> process_group_members(pid_t pgid);

/// Waits until every process of `pids` has exited (pidfd, no sleeps) or the deadline passes;
/// returns the ones still alive.
std::vector<pid_t> wait_for_exit(const std::vector<pid_t>& pids, std::chrono::milliseconds timeout);

class chromium_process {
  public:
    /// Takes ownership of a forked child that leads its own process group.
    chromium_process(pid_t pid, std::filesystem::path run_dir);
    /// Same as terminate() with no grace: the group is killed, reaped and its directory removed.
    ~chromium_process();
    chromium_process(const chromium_process&) = delete;
    chromium_process& operator=(const chromium_process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    /// The browser leads its group, so pgid == pid.
    pid_t pgid() const noexcept { return pid_; }
    const std::filesystem::path& run_dir() const noexcept { return run_dir_; }
    std::filesystem::path profile_dir() const { return run_dir_ / "profile"; }
    std::filesystem::path log_path() const { return run_dir_ / "chromium.log"; }
    /// A pidfd that becomes readable when the browser process exits (-1 if unsupported).
    int exit_fd() const noexcept { return pidfd_; }

    /// True until the browser's main process has exited (reaps it if it has).
    bool running();
    /// The last `lines` lines Chromium wrote to stderr/stdout.
    std::string log_tail(std::size_t lines = 20) const;

    /// SIGTERM to the whole group, SIGKILL after `grace`, reap the browser, wait for the rest of
    /// the group to exit, remove the run directory. Idempotent; thread-safe against itself only
    /// in the sense that a second call returns at once.
    void terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  private:
    pid_t pid_;
    int pidfd_ = -1;
    bool reaped_ = false;
    bool terminated_ = false;
    std::filesystem::path run_dir_;
};

} // namespace rotor::cdp

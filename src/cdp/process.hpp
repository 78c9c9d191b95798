#pragma once
// A launched Chromium: its process group, its run directory (profile + log), and the shutdown
// that leaves nothing behind.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rotor::cdp {

/// The whole of a /proc file, or nullopt when it cannot be read: a process that exits while its
/// /proc files are read makes read() fail (ESRCH), which is an answer here, never an exception
/// (std::ifstream's buffer throws from its iterators on such a read error).
std::optional<std::string> read_proc_file(const std::string& path);

/// Every process (zombies included) whose process group is `pgid`, read from /proc.
std::vector<pid_t> process_group_members(pid_t pgid);

/// Every process whose command line mentions `text` (Chromium's crashpad handlers leave the
/// browser's group with setsid; they are found by the run directory in their --database).
std::vector<pid_t> processes_mentioning(const std::string& text);

/// The state letter of /proc/<pid>/stat ('R', 'S', 'Z', ...), or 0 if the process is gone.
char process_state(pid_t pid);

/// When the process started, in clock ticks after boot (field 22 of /proc/<pid>/stat); with the
/// pid it names one process for the life of the machine. nullopt if it cannot be read.
std::optional<std::uint64_t> process_start_time(pid_t pid);

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
    /// Every process of this browser: its group plus its crashpad handlers (remembered from
    /// when they were alive: an exited one still needs reaping but no longer names the run dir).
    std::vector<pid_t> all_pids() const;

    /// True until the browser's main process has exited (reaps it if it has).
    bool running();
    /// The last `lines` lines Chromium wrote to stderr/stdout.
    std::string log_tail(std::size_t lines = 20) const;

    /// SIGTERM to the whole group, SIGKILL after `grace`, then kill, reap (rotor is a child
    /// subreaper, so orphaned Chromium processes are its children) or wait out every process of
    /// the browser, and remove the run directory. Idempotent. Not thread-safe: one owner.
    void terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  private:
    pid_t pid_;
    int pidfd_ = -1;
    bool reaped_ = false;
    bool terminated_ = false;
    std::filesystem::path run_dir_;
    mutable std::mutex outside_mutex_;
    mutable std::set<pid_t> outside_group_; // crashpad handlers seen so far
};

} // namespace rotor::cdp

#pragma once
// A program the test starts (the worker, rotorctl): spawned with a clean environment plus what
// the test gives, stderr kept in a file, and waited for with a deadline.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace rotor::test {

struct child_options {
    std::vector<std::string> env;      // NAME=value, on top of the inherited environment
    std::vector<std::string> drop_env; // prefixes of inherited variables left out
    std::string stderr_file;           // empty: inherited
    bool quiet_stdout = false;         // stdout to /dev/null
};

/// posix_spawn of `exe` with `args` (without argv[0]); -1 when it cannot start.
pid_t spawn_child(const std::string& exe, const std::vector<std::string>& args,
                  const child_options& options = {});

struct child_exit {
    bool exited = false; // by exit(): `code` holds its status
    int code = -1;
    int signal = 0; // killed by this signal (SIGKILL when the deadline passed)
    bool timed_out = false;
    std::chrono::milliseconds took{0};
};

/// Waits for the child to end; SIGKILLs it (and says so) when `timeout` passes first.
child_exit wait_child(pid_t pid, std::chrono::milliseconds timeout);

/// Pids of processes whose command line contains `needle` (e.g. a test's profile directory).
std::vector<pid_t> processes_mentioning(const std::string& needle);

/// The whole of a text file ("" when it cannot be read).
std::string read_text(const std::string& path);

} // namespace rotor::test

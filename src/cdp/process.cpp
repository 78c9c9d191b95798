#include "cdp/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <deque>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace rotor::cdp {
namespace {

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    return -1;
#endif
}

// state and pgrp of /proc/<pid>/stat; the command name may hold spaces and parentheses, so
// parse after the last ')'.
bool read_stat(pid_t pid, char& state, pid_t& pgrp) {
    const auto text = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text || text->empty()) return false;
    const std::string line = text->substr(0, text->find('\n'));
    const auto close = line.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream rest(line.substr(close + 1));
    long ppid = 0;
    long group = 0;
    if (!(rest >> state >> ppid >> group)) return false;
    pgrp = static_cast<pid_t>(group);
    return true;
}

template <typename F> void for_each_pid(F&& f) {
    DIR* dir = opendir("/proc");
    if (dir == nullptr) return;
    while (dirent* entry = readdir(dir)) {
        char* end = nullptr;
        const long pid = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0') continue;
        f(static_cast<pid_t>(pid));
    }
    closedir(dir);
}

} // namespace

std::optional<std::string> read_proc_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        ::close(fd);
        if (n < 0) return std::nullopt; // e.g. ESRCH: the process exited while we read
        return out;
    }
}

std::vector<pid_t> process_group_members(pid_t pgid) {
    std::vector<pid_t> members;
    for_each_pid([&](pid_t pid) {
        char state = 0;
        pid_t group = 0;
        if (read_stat(pid, state, group) && group == pgid) members.push_back(pid);
    });
    std::sort(members.begin(), members.end());
    return members;
}

std::vector<pid_t> processes_mentioning(const std::string& text) {
    std::vector<pid_t> found;
    if (text.empty()) return found;
    for_each_pid([&](pid_t pid) {
        const auto cmdline = read_proc_file("/proc/" + std::to_string(pid) + "/cmdline");
        if (cmdline && cmdline->find(text) != std::string::npos) found.push_back(pid);
    });
    return found;
}

char process_state(pid_t pid) {
    char state = 0;
    pid_t group = 0;
    return read_stat(pid, state, group) ? state : 0;
}

std::optional<std::uint64_t> process_start_time(pid_t pid) {
    const auto text = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    const std::string line = text->substr(0, text->find('\n'));
    const auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    // After "pid (comm)" come fields 3 (state) .. 22 (starttime).
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    for (int i = 3; i < 22; ++i) {
        if (!(rest >> field)) return std::nullopt;
    }
    std::uint64_t start = 0;
    if (!(rest >> start)) return std::nullopt;
    return start;
}

std::vector<pid_t> wait_for_exit(const std::vector<pid_t>& pids,
                                 std::chrono::milliseconds timeout) {
    struct watched {
        pid_t pid;
        int fd;
    };
    std::vector<watched> open;
    for (pid_t pid : pids) {
        const int fd = open_pidfd(pid);
        if (fd >= 0) open.push_back({pid, fd});
        // ESRCH: already gone (and reaped).
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!open.empty()) {
        std::vector<pollfd> fds;
        for (const auto& w : open) fds.push_back({w.fd, POLLIN, 0});
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        const int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) break;
        std::vector<watched> still;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                ::close(open[i].fd);
            } else {
                still.push_back(open[i]);
            }
        }
        open.swap(still);
    }
    std::vector<pid_t> alive;
    for (const auto& w : open) {
        alive.push_back(w.pid);
        ::close(w.fd);
    }
    return alive;
}

chromium_process::chromium_process(pid_t pid, std::filesystem::path run_dir)
    : pid_(pid), pidfd_(open_pidfd(pid)), run_dir_(std::move(run_dir)) {}

chromium_process::~chromium_process() {
    terminate(std::chrono::milliseconds(0));
    if (pidfd_ >= 0) ::close(pidfd_);
}

bool chromium_process::running() {
    if (reaped_) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
        reaped_ = true;
        return false;
    }
    return true;
}

std::string chromium_process::log_tail(std::size_t lines) const {
    std::ifstream in(log_path());
    std::deque<std::string> tail;
    std::string line;
    while (std::getline(in, line)) {
        tail.push_back(line);
        if (tail.size() > lines) tail.pop_front();
    }
    std::string out;
    for (const auto& l : tail) out += l + "\n";
    return out;
}

std::vector<pid_t> chromium_process::all_pids() const {
    auto pids = process_group_members(pid_);
    std::lock_guard lock(outside_mutex_);
    for (pid_t p : processes_mentioning(run_dir_.string())) outside_group_.insert(p);
    for (auto it = outside_group_.begin(); it != outside_group_.end();) {
        if (process_state(*it) == 0) {
            it = outside_group_.erase(it); // reaped
            continue;
        }
        if (std::find(pids.begin(), pids.end(), *it) == pids.end()) pids.push_back(*it);
        ++it;
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

void chromium_process::terminate(std::chrono::milliseconds grace) {
    if (terminated_) return;
    terminated_ = true;
    if (running()) {
        if (grace.count() > 0) {
            ::kill(-pid_, SIGTERM);
            wait_for_exit({pid_}, grace);
        }
        ::kill(-pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
    }
    // Renderers, zygotes and utilities share the group; crashpad handlers setsid away from it.
    // The browser's death ends most of them and SIGKILL the rest. Orphans are re-parented to us
    // (child subreaper), so reap them; others are waited out through pidfds. Every pid seen is
    // remembered: a zombie's cmdline is empty, so it no longer "mentions" the run directory.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::set<pid_t> seen;
    for (;;) {
        ::kill(-pid_, SIGKILL);
        for (pid_t p : all_pids()) seen.insert(p);
        std::vector<pid_t> alive;
        for (auto it = seen.begin(); it != seen.end();) {
            const pid_t p = *it;
            if (::waitpid(p, nullptr, WNOHANG) == p) { // our zombie, now reaped
                it = seen.erase(it);
                continue;
            }
            const char state = process_state(p);
            if (state == 0) { // gone: reaped by its parent
                it = seen.erase(it);
                continue;
            }
            if (state != 'Z') {
                ::kill(p, SIGKILL);
                alive.push_back(p);
            }
            ++it;
        }
        if (seen.empty() || std::chrono::steady_clock::now() >= deadline) break;
        if (!alive.empty()) {
            wait_for_exit(alive, std::chrono::duration_cast<std::chrono::milliseconds>(
                                     deadline - std::chrono::steady_clock::now()));
        } else {
            // Only zombies of another parent are left; it reaps them in a moment.
            ::poll(nullptr, 0, 10);
        }
    }
    std::error_code ignored;
    std::filesystem::remove_all(run_dir_, ignored);
}

} // namespace rotor::cdp

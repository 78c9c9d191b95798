#include "pool/zombie_sweep.hpp"

#include "cdp/process.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace rotor::pool {

std::size_t reap_orphaned_chromium(const std::vector<pid_t>& keep) {
    std::size_t reaped = 0;
    const pid_t self = ::getpid();
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        char* end = nullptr;
        const long pid = std::strtol(name.c_str(), &end, 10);
        if (pid <= 0 || *end != '\0') continue;
        if (std::find(keep.begin(), keep.end(), static_cast<pid_t>(pid)) != keep.end()) continue;
        const auto stat = cdp::read_proc_file("/proc/" + name + "/stat");
        if (!stat) continue;
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
        const auto open = stat->find('(');
        const auto close = stat->rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 4 > stat->size())
            continue;
        const std::string comm = stat->substr(open + 1, close - open - 1);
        const char state = (*stat)[close + 2];
        const long ppid = std::strtol(stat->c_str() + close + 4, nullptr, 10);
        if (state != 'Z' || ppid != self) continue;
        if (comm.rfind("chrom", 0) != 0 && comm.rfind("headless_shell", 0) != 0) continue;
        int status = 0;
        if (::waitpid(static_cast<pid_t>(pid), &status, WNOHANG) == pid) ++reaped;
    }
    return reaped;
}

} // namespace rotor::pool

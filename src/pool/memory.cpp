#include "pool/memory.hpp"

#include "cdp/process.hpp"

#include <sstream>
#include <string>

namespace rotor::pool {

std::uint64_t pss_kib(pid_t pid) {
    // A process that exits while it is read counts 0 (read_proc_file never throws).
    const auto text = cdp::read_proc_file("/proc/" + std::to_string(pid) + "/smaps_rollup");
    if (!text) return 0;
    std::istringstream in(*text);
    std::string key;
    std::uint64_t value = 0;
    while (in >> key) {
        if (key == "Pss:") {
            in >> value;
            return value;
        }
        in.ignore(4096, '\n');
    }
    return 0;
}

double pss_mib(const std::vector<pid_t>& pids) {
    std::uint64_t total = 0;
    for (pid_t pid : pids) total += pss_kib(pid);
    return static_cast<double>(total) / 1024.0;
}

} // namespace rotor::pool

#pragma once
// Memory of a process tree, as PSS (proportional set size: shared pages split among their
// users, so a tree's sum is what it really costs), from /proc/<pid>/smaps_rollup.

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace rotor::pool {

/// PSS of one process in KiB; 0 if it is gone or unreadable.
std::uint64_t pss_kib(pid_t pid);
/// Sum over `pids`, in MiB.
double pss_mib(const std::vector<pid_t>& pids);

} // namespace rotor::pool

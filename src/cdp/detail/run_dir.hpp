#pragma once
// Per-launch run directories under the profile root, named after the launching process:
// run-<pid>-t<start time>-<sequence>-<random>. The start time (clock ticks after boot, field 22
// of /proc/<pid>/stat) tells a live launcher from an earlier process with the same pid: in a
// container the worker is always PID 1, so a pid alone would keep a previous run's directories
// in a shared volume forever.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace rotor::cdp::detail {

struct run_dir_owner {
    pid_t pid = 0;
    std::optional<std::uint64_t> start_time; // none in names of the older run-<pid>-<n>-<r> form
};

/// The launcher named in a run directory's name; nullopt for anything else.
std::optional<run_dir_owner> parse_run_dir_name(std::string_view name);

/// True while the process that made the directory is alive: a process with that pid exists and,
/// when the name carries one, has that start time (if it cannot be read, the pid decides).
bool run_dir_owner_alive(const run_dir_owner& owner);

/// Creates root/run-<our pid>-t<our start time>-<n>-<r> with profile/ and tmp/ in it.
std::filesystem::path make_run_dir(const std::filesystem::path& root);

} // namespace rotor::cdp::detail

#pragma once
// Whether Chromium may use /dev/shm. Docker gives containers 64 MB of it by default; Chromium
// puts rendering buffers there and crashes or stalls when it runs out. The rule:
//
//   needed = max(512 MB, 128 MB x concurrency)
//   auto:  shared memory stays on when /dev/shm has `needed` MB free; otherwise
//          --disable-dev-shm-usage (Chromium then uses /tmp, slower but safe)
//   use:   always on; avoid: always off.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace rotor::pool {

enum class shm_mode { auto_detect, use, avoid };

struct shm_info {
    bool exists = false;
    std::uint64_t size_mb = 0;
    std::uint64_t free_mb = 0;
};

struct shm_decision {
    bool disable_dev_shm_usage = false; // add --disable-dev-shm-usage
    shm_mode mode = shm_mode::auto_detect;
    shm_info info;
    std::uint64_t needed_mb = 0;
    std::string reason; // one line for the log, the heartbeat and metrics
};

/// statvfs of `path` (a parameter so tests can point it at a small tmpfs).
shm_info read_shm(const std::filesystem::path& path = "/dev/shm");
std::uint64_t shm_needed_mb(std::size_t concurrency);
/// Pure: the rule above.
shm_decision decide_shm(shm_mode mode, const shm_info& info, std::size_t concurrency);

std::string_view to_string(shm_mode mode);
/// "auto", "use" or "avoid"; throws std::invalid_argument naming the bad value.
shm_mode shm_mode_from_string(std::string_view text);

} // namespace rotor::pool

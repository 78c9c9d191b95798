#include "pool/shm.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <stdexcept>

namespace rotor::pool {

shm_info read_shm(const std::filesystem::path& path) {
    shm_info info;
    struct statvfs fs {};
    if (::statvfs(path.c_str(), &fs) != 0) return info;
    info.exists = true;
    info.size_mb = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize / (1024 * 1024);
    info.free_mb = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize / (1024 * 1024);
    return info;
}

std::uint64_t shm_needed_mb(std::size_t concurrency) {
    return std::max<std::uint64_t>(512, 128 * static_cast<std::uint64_t>(concurrency));
}

shm_decision decide_shm(shm_mode mode, const shm_info& info, std::size_t concurrency) {
    shm_decision d;
    d.mode = mode;
    d.info = info;
    d.needed_mb = shm_needed_mb(concurrency);
    const std::string have = info.exists ? std::to_string(info.free_mb) + " MB free of " +
                                               std::to_string(info.size_mb) + " MB"
                                         : "missing";
    switch (mode) {
    case shm_mode::use:
        d.disable_dev_shm_usage = false;
        d.reason = "shm_mode use: /dev/shm on (" + have + ")";
        break;
    case shm_mode::avoid:
        d.disable_dev_shm_usage = true;
        d.reason = "shm_mode avoid: --disable-dev-shm-usage (" + have + ")";
        break;
    case shm_mode::auto_detect:
        if (info.exists && info.free_mb >= d.needed_mb) {
            d.disable_dev_shm_usage = false;
            d.reason = "shm auto: /dev/shm " + have + " >= " + std::to_string(d.needed_mb) +
                       " MB needed for concurrency " + std::to_string(concurrency) + ": on";
        } else {
            d.disable_dev_shm_usage = true;
            d.reason = "shm auto: /dev/shm " + have + " < " + std::to_string(d.needed_mb) +
                       " MB needed for concurrency " + std::to_string(concurrency) +
                       ": --disable-dev-shm-usage";
        }
        break;
    }
    return d;
}

std::string_view to_string(shm_mode mode) {
    switch (mode) {
    case shm_mode::auto_detect:
        return "auto";
    case shm_mode::use:
        return "use";
    case shm_mode::avoid:
        return "avoid";
    }
    return "auto";
}

shm_mode shm_mode_from_string(std::string_view text) {
    if (text == "auto") return shm_mode::auto_detect;
    if (text == "use") return shm_mode::use;
    if (text == "avoid") return shm_mode::avoid;
    throw std::invalid_argument("shm_mode must be auto, use or avoid, not '" + std::string(text) +
                                "'");
}

} // namespace rotor::pool

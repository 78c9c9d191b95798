#include "cdp/detail/run_dir.hpp"

#include "cdp/launcher.hpp"
#include "cdp/process.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <random>
#include <string>

namespace rotor::cdp {
namespace detail {
namespace {

constexpr std::string_view prefix = "run-";

// Reads an unsigned number at the front of `text` and drops it; nullopt if there is none.
std::optional<std::uint64_t> take_number(std::string_view& text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return value;
}

bool pid_exists(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

} // namespace

std::optional<run_dir_owner> parse_run_dir_name(std::string_view name) {
    if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
    name.remove_prefix(prefix.size());
    const auto pid = take_number(name);
    if (!pid || *pid == 0 || *pid > 0x7fffffffULL || name.empty() || name.front() != '-') {
        return std::nullopt;
    }
    run_dir_owner owner;
    owner.pid = static_cast<pid_t>(*pid);
    name.remove_prefix(1);
    if (!name.empty() && name.front() == 't') {
        name.remove_prefix(1);
        owner.start_time = take_number(name);
        if (!owner.start_time) return std::nullopt;
    }
    return owner;
}

bool run_dir_owner_alive(const run_dir_owner& owner) {
    if (!pid_exists(owner.pid)) return false;
    if (!owner.start_time) return true;
    const auto started = process_start_time(owner.pid);
    if (!started) return pid_exists(owner.pid); // unreadable (hidepid) or gone meanwhile
    return *started == *owner.start_time;
}

std::filesystem::path make_run_dir(const std::filesystem::path& root) {
    static std::atomic<unsigned> sequence{0};
    static const std::uint64_t started = process_start_time(::getpid()).value_or(0);
    std::random_device rd;
    const auto name = std::string(prefix) + std::to_string(::getpid()) + "-t" +
                      std::to_string(started) + "-" + std::to_string(sequence++) + "-" +
                      std::to_string(rd() % 1000000);
    auto dir = root / name;
    std::filesystem::create_directories(dir / "profile");
    std::filesystem::create_directories(dir / "tmp");
    return dir;
}

} // namespace detail

std::size_t remove_stale_run_dirs(const std::filesystem::path& root) {
    std::size_t removed = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
        const auto owner = detail::parse_run_dir_name(entry.path().filename().string());
        if (!owner || detail::run_dir_owner_alive(*owner)) continue;
        std::error_code rm;
        std::filesystem::remove_all(entry.path(), rm);
        if (!rm) ++removed;
    }
    return removed;
}

} // namespace rotor::cdp

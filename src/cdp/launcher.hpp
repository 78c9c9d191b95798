#pragma once
// Starting Chromium: fork+exec from the long-lived spawn thread into its own process group, a
// fresh profile, DevTools on 127.0.0.1 with a port Chromium picks and publishes.

#include "cdp/process.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace rotor::cdp {

/// $CHROME_PATH if set, else /usr/bin/chromium.
std::string default_chromium_path();
/// The file to exec for `path`: Debian's /usr/bin/chromium wrapper script resolves to
/// /usr/lib/chromium/chromium (the wrapper adds flags of its own); anything else is itself.
std::string resolve_chromium_executable(const std::string& path);
/// $ROTOR_PROFILE_ROOT, else $TMPDIR/rotor-chromium (or /tmp/rotor-chromium).
std::filesystem::path default_profile_root();

/// Flags Chromium needs on every machine rotor runs on (headless, no sandbox as in containers,
/// no GPU, no QUIC, no background networking or component updates that would open
/// connections to the internet). Callers add their own on top.
std::vector<std::string> required_flags();

struct launch_options {
    std::string chromium_path = default_chromium_path(); // executable (or Debian's wrapper script)
    std::vector<std::string> flags;                      // added after required_flags()
    std::chrono::milliseconds start_timeout{20000};      // until DevToolsActivePort appears
    std::filesystem::path profile_root = default_profile_root(); // parent of per-launch dirs
};

struct launched_browser {
    std::unique_ptr<chromium_process> process;
    unsigned short port = 0;    // DevTools port on 127.0.0.1
    std::string websocket_path; // "/devtools/browser/<id>"
};

/// Starts Chromium and waits (inotify + pidfd, no polling) for its DevTools endpoint.
/// Removes stale run directories of dead launchers under profile_root first.
/// Throws cdp::error(errc::launch_failed) naming the executable, the cause and Chromium's last
/// output lines. Blocking; callable from any thread.
launched_browser launch_chromium(const launch_options& options);

/// Removes run directories under `root` whose launching process no longer exists; returns how
/// many were removed.
std::size_t remove_stale_run_dirs(const std::filesystem::path& root);

} // namespace rotor::cdp

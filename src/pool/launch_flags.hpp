#pragma once
// The Chromium command line of a pooled browser: the lean base set, the process model, the shm
// decision, and per-platform extras. See docs/ARCHITECTURE.md ("Chromium flags") for what each
// group costs and saves, as measured on the fixture shop.

#include "pool/shm.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace rotor::pool {

enum class process_model {
    lean,     // one site per context: no site isolation / browsing-instance swaps / bfcache,
              // renderer processes capped (fewer processes, less CPU per item)
    isolated, // Chromium's defaults: a new renderer per same-site navigation is allowed
};

struct flag_options {
    process_model model = process_model::lean;
    std::size_t renderer_process_limit = 0; // lean model; 0 = pages per browser (at least 2)
    std::size_t pages_per_browser = 4;
    std::string user_agent;         // --user-agent (empty: Chromium's)
    std::string proxy;              // --proxy-server (empty: none)
    std::vector<std::string> extra; // appended last, per platform
    // Taken out of the set, per platform: a flag by its name ("--disable-extensions", or
    // "--renderer-process-limit" for any value) or a feature of --disable-features by its name
    // ("BackForwardCache": the feature stays on).
    std::vector<std::string> remove;
};

/// Flags every pooled browser gets: no extensions, default apps, first run, background
/// networking, crash reporter, automation banner or throttling of background pages.
std::vector<std::string> base_flags();
std::vector<std::string> launch_flags(const flag_options& options, const shm_decision& shm);

std::string_view to_string(process_model model);
process_model process_model_from_string(std::string_view text);

} // namespace rotor::pool

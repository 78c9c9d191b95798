#pragma once
// What an HTTP status means for an item, the same for every fetching node (scan_product,
// api_fetch): 404/410 gone; the platform's cooldown_on (and, for pages, block_detect.status)
// slow every worker down and retry; 5xx and no status at all retry; other 4xx fail. Pure.

#include "nodes/platform_config.hpp"

#include <algorithm>
#include <chrono>
#include <string>

namespace rotor::nodes::detail {

enum class status_verdict { proceed, gone, cool_down, blocked, retry, fail };

inline status_verdict judge_status(const platform_config& c, int status) {
    auto listed = [status](const std::vector<int>& v) {
        return std::find(v.begin(), v.end(), status) != v.end();
    };
    if (status == 404 || status == 410) return status_verdict::gone;
    if (listed(c.rate_limit.cooldown_on)) return status_verdict::cool_down;
    if (listed(c.scan.block_detect.status)) return status_verdict::blocked;
    if (status >= 500 || status == 0) return status_verdict::retry;
    if (status >= 400) return status_verdict::fail;
    return status_verdict::proceed;
}

inline long long ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t0)
        .count();
}

} // namespace rotor::nodes::detail

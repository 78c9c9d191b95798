#pragma once
// The identity a freshness-cache entry carries: what an item's fetched values depend on. An
// entry answers an item only under the same identity (see docs/ARCHITECTURE.md, "Freshness
// cache"); anything that could change the answer is in it, anything else (concurrency, retries,
// rate limits, timeouts, sinks) is not, so tuning a platform keeps its cache.

#include "nodes/platform_config.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace rotor::nodes {

/// "v2:" and 16 hex digits (FNV-1a 64): the same on every host and build.
std::string cache_identity(const platform_config& config, const std::string& item_id,
                           const nlohmann::json& item_data);

} // namespace rotor::nodes

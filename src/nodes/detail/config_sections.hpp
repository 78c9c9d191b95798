#pragma once
// The readers of a platform file's sections (rate_limit, timeouts, browser, scan, api, sinks,
// workflow): each reads its mapping into the config and records every problem on the reader.

#include "nodes/detail/yaml_reader.hpp"
#include "nodes/platform_config.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace rotor::nodes::detail {

/// An HTTP status written as one: 100-599, three digits.
std::optional<int> http_status(const std::string& s);
/// "3600" (seconds), "90s", "30m", "6h", "1d"; nullopt when it is none of these.
std::optional<std::chrono::seconds> parse_duration(const std::string& text);

void read_rate_limit(yaml_reader& r, const YAML::Node& n, rate_limit_spec& out);
void read_timeouts(yaml_reader& r, const YAML::Node& n, timeouts_spec& out);
void read_browser(yaml_reader& r, const YAML::Node& n, browser_spec& out);
void read_scan(yaml_reader& r, const YAML::Node& n, scan_spec& out);
void read_api(yaml_reader& r, const YAML::Node& n, api_spec& out);
void read_sinks(yaml_reader& r, const YAML::Node& n, platform_config& c);
void read_workflow(yaml_reader& r, const YAML::Node& n, std::vector<node_spec>& out);

/// A YAML value as JSON (a body template): quoted scalars are strings; plain ones are null,
/// true/false, integers or numbers when they read as such, else strings. ${ENV} is expanded.
nlohmann::json yaml_to_json(yaml_reader& r, const YAML::Node& n, const std::string& path);

} // namespace rotor::nodes::detail

#pragma once
// The binaries' logging: spdlog to stderr (stdout carries the JSON lines scripts read), as text
// or as one JSON object per line ({"time", "level", "logger", "msg"}, the message escaped).

#include <string>

namespace rotor::app {

/// `format`: text or json; `level`: trace, debug, info, warn, error, critical or off.
void configure_logging(const std::string& format, const std::string& level);

/// `text` as the inside of a JSON string (quotes, backslashes and control characters escaped).
std::string json_escaped(const std::string& text);

} // namespace rotor::app

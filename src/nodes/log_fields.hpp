#pragma once
// Structured fields on a log line: a message may end with kLogFieldsMark and a JSON object
// (job, index, item, node, duration_ms...). The worker's JSON log format puts them as fields of
// the line's object; the text format as `key=value` after the message. Logged without the
// worker's formatter (a test, a tool), they read as a JSON trailer.

#include <nlohmann/json.hpp>

#include <string>

namespace rotor::nodes {

/// Between a message and its fields (ASCII unit separator: never in a message's own text).
inline constexpr char kLogFieldsMark = '\x1f';

inline std::string with_fields(std::string message, const nlohmann::json& fields) {
    message += kLogFieldsMark;
    message += fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return message;
}

} // namespace rotor::nodes

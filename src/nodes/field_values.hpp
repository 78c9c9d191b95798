#pragma once
// A field's raw text (as the page gave it) becomes its typed value: trimmed, the regex applied
// (its first group, or the whole match), then read as the field's type. Pure logic.

#include "nodes/platform_config.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace rotor::nodes {

struct field_value {
    nlohmann::json value; // null when missing or unreadable
    std::string problem;  // why it is unreadable ("" when read, or simply missing)
};

/// `raw`: the text the selector found, nullopt when it found no element.
field_value convert_field(const field_spec& spec, const std::optional<std::string>& raw);

/// "12,345원", "₩12,345", "$1,299.00", "1 299,50 €", "KRW 12345" -> the number; nullopt when
/// the text holds no price (no digits, or two numbers).
std::optional<double> parse_price(const std::string& text);

} // namespace rotor::nodes

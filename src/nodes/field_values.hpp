#pragma once
// A field's raw text (as the page gave it) becomes its typed value: trimmed, the regex applied
// (its first group, or the whole match), then read as the field's type. Pure logic.

#include "nodes/platform_config.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <regex>
#include <string>

namespace rotor::nodes {

struct field_value {
    nlohmann::json value; // null when missing or unreadable
    std::string problem;  // why it is unreadable ("" when read, or simply missing)
};

/// `raw`: the text the selector found, nullopt when it found no element. `compiled`: the
/// field's regex compiled once (null: compiled here from spec.regex). A regex is applied to
/// at most max_regex_input bytes (libstdc++'s engine recurses per character: a page's
/// megabyte of html would overflow the stack).
field_value convert_field(const field_spec& spec, const std::optional<std::string>& raw,
                          const std::regex* compiled = nullptr);

inline constexpr std::size_t max_regex_input = 4096;

/// A field of a JSON answer (api): `found` is the value at the field's pointer (null: nothing
/// there). Numbers stay numbers for int and price (a JSON 12.345 is not read as 12345), booleans
/// for bool; json keeps the value as it is; strings (and anything with a regex) go through
/// convert_field as text.
field_value convert_json_field(const field_spec& spec, const nlohmann::json* found,
                               const std::regex* compiled = nullptr);

/// "12,345원", "₩12,345", "$1,299.00", "1 299,50 €", "KRW 12345" -> the number; nullopt when
/// the text holds no price (no digits, or two numbers).
std::optional<double> parse_price(const std::string& text);

} // namespace rotor::nodes

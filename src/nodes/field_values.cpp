#include "nodes/field_values.hpp"

#include <charconv>
#include <cmath>
#include <regex>

namespace rotor::nodes {
namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n\f\v");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r\n\f\v");
    return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
    for (auto& c : s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
}

} // namespace

std::optional<double> parse_price(const std::string& text) {
    // The number: digits with separators (',', '.', ' ', thin or no-break spaces between
    // digits). Everything else (currency signs, words) is ignored; a second number is refused.
    std::string number;
    bool in_number = false;
    bool ended = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool digit = c >= '0' && c <= '9';
        const bool sep = c == ',' || c == '.' || c == ' ' || c == '\'';
        if (digit) {
            if (ended) return std::nullopt; // a second number
            in_number = true;
            number.push_back(c);
        } else if (in_number && sep && i + 1 < text.size() && text[i + 1] >= '0' &&
                   text[i + 1] <= '9') {
            if (c != ' ' && c != '\'')
                number.push_back(c);
            else
                number.push_back('_'); // a grouping space
        } else if (in_number) {
            in_number = false;
            ended = true;
        }
    }
    if (number.empty()) return std::nullopt;
    // The decimal separator: the last '.' or ',' followed by exactly one or two digits. Every
    // other separator groups thousands.
    std::string plain;
    const auto last_sep = number.find_last_of(".,");
    const bool has_decimals = last_sep != std::string::npos && number.size() - last_sep - 1 >= 1 &&
                              number.size() - last_sep - 1 <= 2;
    for (std::size_t i = 0; i < number.size(); ++i) {
        const char c = number[i];
        if (c >= '0' && c <= '9')
            plain.push_back(c);
        else if (has_decimals && i == last_sep)
            plain.push_back('.');
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(plain.data(), plain.data() + plain.size(), v);
    if (ec != std::errc() || end != plain.data() + plain.size() || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

field_value convert_field(const field_spec& spec, const std::optional<std::string>& raw,
                          const std::regex* compiled) {
    field_value out;
    if (!raw) return out; // no element: missing
    std::string text = trim(*raw);
    if (spec.regex) {
        if (text.size() > max_regex_input) {
            out.problem = "the text is " + std::to_string(text.size()) + " bytes, over the " +
                          std::to_string(max_regex_input) + " a regex is applied to";
            return out;
        }
        std::smatch m;
        std::optional<std::regex> local;
        if (compiled == nullptr) local.emplace(*spec.regex);
        const std::regex& re = compiled != nullptr ? *compiled : *local;
        if (!std::regex_search(text, m, re)) {
            out.problem = "'" + text.substr(0, 80) + "' does not match " + *spec.regex;
            return out;
        }
        text = trim(m.size() > 1 && m[1].matched ? m[1].str() : m[0].str());
    }
    switch (spec.type) {
    case field_type::string:
        out.value = text;
        break;
    case field_type::integer: {
        std::string digits;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if ((c >= '0' && c <= '9') || (c == '-' && digits.empty()))
                digits.push_back(c);
            else if (c == ',' && !digits.empty())
                continue; // thousands
            else {
                digits.clear();
                break;
            }
        }
        long long v = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
            out.problem = "'" + text.substr(0, 80) + "' is not a whole number";
        } else {
            out.value = v;
        }
        break;
    }
    case field_type::price:
        if (auto p = parse_price(text)) {
            if (*p == std::floor(*p) && std::fabs(*p) < 9e15)
                out.value = static_cast<long long>(*p);
            else
                out.value = *p;
        } else {
            out.problem = "'" + text.substr(0, 80) + "' is not a price";
        }
        break;
    case field_type::boolean: {
        const auto t = lower(text);
        if (t == "true" || t == "yes" || t == "1")
            out.value = true;
        else if (t == "false" || t == "no" || t == "0")
            out.value = false;
        else
            out.problem = "'" + text.substr(0, 80) + "' is not true or false";
        break;
    }
    case field_type::json: {
        auto v = nlohmann::json::parse(text, nullptr, false);
        if (v.is_discarded())
            out.problem = "the text is not JSON";
        else
            out.value = std::move(v);
        break;
    }
    }
    return out;
}

field_value convert_json_field(const field_spec& spec, const nlohmann::json* found,
                               const std::regex* compiled) {
    field_value out;
    if (found == nullptr || found->is_null()) return out; // missing
    const auto& v = *found;
    if (spec.type == field_type::json && !spec.regex) {
        out.value = v;
        return out;
    }
    if (!spec.regex) {
        if (v.is_number() && (spec.type == field_type::price || spec.type == field_type::integer)) {
            if (v.is_number_integer()) {
                out.value = v;
            } else if (const double d = v.get<double>(); !std::isfinite(d)) {
                out.problem = "not a finite number";
            } else if (d == std::floor(d) && std::fabs(d) < 9e15) {
                out.value = static_cast<long long>(d);
            } else if (spec.type == field_type::price) {
                out.value = d;
            } else {
                out.problem = v.dump() + " is not a whole number";
            }
            return out;
        }
        if (v.is_boolean() && spec.type == field_type::boolean) {
            out.value = v;
            return out;
        }
        if ((v.is_object() || v.is_array()) && spec.type != field_type::json) {
            out.problem = std::string(v.is_object() ? "an object" : "a list") + ", not a " +
                          std::string(to_string(spec.type));
            return out;
        }
    }
    return convert_field(spec, v.is_string() ? v.get<std::string>() : v.dump(), compiled);
}

} // namespace rotor::nodes

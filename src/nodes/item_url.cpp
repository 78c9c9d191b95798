#include "nodes/item_url.hpp"

#include <stdexcept>

namespace rotor::nodes {

std::string percent_encode(const std::string& text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        }
    }
    return out;
}

url_builder::url_builder(const platform_config& config)
    : template_(config.url_template), id_pattern_(config.id_pattern),
      id_pattern_text_(config.id_pattern), policy_(config.allowed_hosts) {}

item_url url_builder::url_for(const std::string& id) const {
    item_url r;
    if (!std::regex_match(id, id_pattern_)) {
        r.problem = "malformed item: id '" + id + "' does not match the platform's id_pattern " +
                    id_pattern_text_;
        return r;
    }
    // "." and ".." are path segments even percent-encoded (%2E%2E is normalized like ..).
    if (id.find_first_not_of('.') == std::string::npos) {
        r.problem = "malformed item: id '" + id + "' is a relative path segment, not an id";
        return r;
    }
    std::string url = template_;
    const std::string encoded = percent_encode(id);
    for (auto at = url.find("{id}"); at != std::string::npos;
         at = url.find("{id}", at + encoded.size())) {
        url.replace(at, 4, encoded);
    }
    const auto check = policy_.check(url);
    if (!check.allowed) {
        r.problem = "refused: " + check.reason;
        return r;
    }
    r.url = std::move(url);
    return r;
}

} // namespace rotor::nodes

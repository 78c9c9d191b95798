#include "nodes/body_template.hpp"

#include <optional>

namespace rotor::nodes {
namespace {

struct placeholder {
    std::size_t length = 0; // of "{...}"
    std::string data_key;   // empty: {id}
};

std::optional<placeholder> placeholder_at(const std::string& s, std::size_t at) {
    if (s.compare(at, 4, "{id}") == 0) return placeholder{4, {}};
    if (s.compare(at, 6, "{data.") != 0) return std::nullopt;
    std::size_t i = at + 6;
    while (i < s.size() &&
           (std::isalnum(static_cast<unsigned char>(s[i])) != 0 || s[i] == '_' || s[i] == '-')) {
        ++i;
    }
    if (i == at + 6 || i >= s.size() || s[i] != '}') return std::nullopt;
    return placeholder{i + 1 - at, s.substr(at + 6, i - at - 6)};
}

std::optional<nlohmann::json> value_of(const placeholder& p, const std::string& id,
                                       const nlohmann::json& data, std::string& problem) {
    if (p.data_key.empty()) return nlohmann::json(id);
    if (data.is_object()) {
        if (const auto it = data.find(p.data_key); it != data.end()) return *it;
    }
    if (problem.empty()) {
        problem =
            "the request body needs data." + p.data_key + ", which the item was not enqueued with";
    }
    return std::nullopt;
}

nlohmann::json render_string(const std::string& s, const std::string& id,
                             const nlohmann::json& data, std::string& problem) {
    if (const auto whole = placeholder_at(s, 0); whole && whole->length == s.size()) {
        return value_of(*whole, id, data, problem).value_or(nullptr);
    }
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] == '{') {
            if (const auto p = placeholder_at(s, i)) {
                if (auto v = value_of(*p, id, data, problem)) {
                    out += v->is_string() ? v->get<std::string>() : v->dump();
                }
                i += p->length;
                continue;
            }
        }
        out.push_back(s[i++]);
    }
    return out;
}

} // namespace

nlohmann::json render_template(const nlohmann::json& tmpl, const std::string& id,
                               const nlohmann::json& data, std::string& problem) {
    if (tmpl.is_string()) return render_string(tmpl.get<std::string>(), id, data, problem);
    if (tmpl.is_array()) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& v : tmpl) out.push_back(render_template(v, id, data, problem));
        return out;
    }
    if (tmpl.is_object()) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& [k, v] : tmpl.items()) out[k] = render_template(v, id, data, problem);
        return out;
    }
    return tmpl;
}

} // namespace rotor::nodes

#include "nodes/detail/yaml_reader.hpp"

#include <charconv>
#include <cmath>

namespace rotor::nodes::detail {

yaml_reader::yaml_reader(std::string source, env_lookup env)
    : source_(std::move(source)), env_(std::move(env)) {}

void yaml_reader::problem(const YAML::Node& at, const std::string& path,
                          const std::string& message) {
    std::string where = source_;
    if (at.IsDefined() && at.Mark().line >= 0) {
        where +=
            ":" + std::to_string(at.Mark().line + 1) + ":" + std::to_string(at.Mark().column + 1);
    }
    problems_.push_back(where + ": " + (path.empty() ? "" : path + ": ") + message);
}

bool yaml_reader::expect_map(const YAML::Node& map, const std::string& path,
                             std::initializer_list<const char*> allowed) {
    if (!map.IsMap()) {
        problem(map, path, "expected a mapping (key: value lines)");
        return false;
    }
    for (const auto& kv : map) {
        const auto key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
        bool known = false;
        for (const char* a : allowed) known = known || key == a;
        if (!known) {
            std::string list;
            for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
            problem(kv.first, join(path, key), "unknown key (expected one of: " + list + ")");
        }
    }
    return true;
}

std::optional<std::string> yaml_reader::scalar(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
        problem(node, path, "expected a single value, not a list or mapping");
        return std::nullopt;
    }
    std::string error;
    auto v = expand_env(node.Scalar(), env_, error);
    if (!v) problem(node, path, error);
    return v;
}

std::optional<std::string> yaml_reader::text(const YAML::Node& map, const std::string& path,
                                             const char* key, bool required) {
    const auto node = map[key];
    if (!node.IsDefined() || node.IsNull()) {
        if (required) problem(map, join(path, key), "missing (it is required)");
        return std::nullopt;
    }
    return scalar(node, join(path, key));
}

std::optional<long long> yaml_reader::integer(const YAML::Node& map, const std::string& path,
                                              const char* key, long long min, long long max,
                                              bool required) {
    auto t = text(map, path, key, required);
    if (!t) return std::nullopt;
    long long v = 0;
    const auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || end != t->data() + t->size()) {
        problem(map[key], join(path, key), "'" + *t + "' is not a whole number");
        return std::nullopt;
    }
    if (v < min || v > max) {
        problem(map[key], join(path, key),
                std::to_string(v) + " is out of range (" + std::to_string(min) + " to " +
                    std::to_string(max) + ")");
        return std::nullopt;
    }
    return v;
}

std::optional<double> yaml_reader::number(const YAML::Node& map, const std::string& path,
                                          const char* key, double min, double max) {
    auto t = text(map, path, key);
    if (!t) return std::nullopt;
    double v = 0;
    const auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || end != t->data() + t->size() || !std::isfinite(v)) {
        problem(map[key], join(path, key), "'" + *t + "' is not a number");
        return std::nullopt;
    }
    if (v < min || v > max) {
        problem(map[key], join(path, key),
                *t + " is out of range (" + std::to_string(min) + " to " + std::to_string(max) +
                    ")");
        return std::nullopt;
    }
    return v;
}

std::optional<bool> yaml_reader::boolean(const YAML::Node& map, const std::string& path,
                                         const char* key) {
    auto t = text(map, path, key);
    if (!t) return std::nullopt;
    if (*t == "true" || *t == "yes") return true;
    if (*t == "false" || *t == "no") return false;
    problem(map[key], join(path, key), "'" + *t + "' is not true or false");
    return std::nullopt;
}

std::optional<std::vector<std::string>>
yaml_reader::texts(const YAML::Node& map, const std::string& path, const char* key) {
    const auto node = map[key];
    if (!node.IsDefined() || node.IsNull()) return std::nullopt;
    if (!node.IsSequence()) {
        problem(node, join(path, key), "expected a list ([a, b] or '- a' lines)");
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::size_t i = 0; i < node.size(); ++i) {
        auto v = scalar(node[i], join(path, key) + "[" + std::to_string(i) + "]");
        if (v)
            out.push_back(std::move(*v));
        else
            ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
}

} // namespace rotor::nodes::detail

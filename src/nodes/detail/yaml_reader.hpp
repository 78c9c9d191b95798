#pragma once
// Reading a YAML tree with every problem collected (not the first thrown), each with its place:
// "file:line:column: key.path: message". Scalars are read after ${ENV} expansion.

#include "nodes/config_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace rotor::nodes::detail {

class yaml_reader {
  public:
    yaml_reader(std::string source, env_lookup env);

    void problem(const YAML::Node& at, const std::string& path, const std::string& message);
    const std::vector<std::string>& problems() const noexcept { return problems_; }

    /// Problems for keys of `map` not in `allowed`; false when `map` is not a mapping.
    bool expect_map(const YAML::Node& map, const std::string& path,
                    std::initializer_list<const char*> allowed);
    /// The scalar at `map[key]` after ${ENV} expansion; nullopt when absent (a problem when
    /// `required`) or unreadable (a problem).
    std::optional<std::string> text(const YAML::Node& map, const std::string& path, const char* key,
                                    bool required = false);
    std::optional<long long> integer(const YAML::Node& map, const std::string& path,
                                     const char* key, long long min, long long max,
                                     bool required = false);
    std::optional<double> number(const YAML::Node& map, const std::string& path, const char* key,
                                 double min, double max);
    std::optional<bool> boolean(const YAML::Node& map, const std::string& path, const char* key);
    /// A sequence of scalars (a single scalar is refused: say [x]).
    std::optional<std::vector<std::string>> texts(const YAML::Node& map, const std::string& path,
                                                  const char* key);
    /// The scalar `node` itself after expansion.
    std::optional<std::string> scalar(const YAML::Node& node, const std::string& path);

    static std::string join(const std::string& path, const std::string& key) {
        return path.empty() ? key : path + "." + key;
    }

  private:
    std::string source_;
    env_lookup env_;
    std::vector<std::string> problems_;
};

} // namespace rotor::nodes::detail

#pragma once
// Loads config/platforms/*.yaml. A file is checked whole and every problem reported, each as
// "file:line:column: key.path: what is wrong (what was expected)"; unknown keys are problems (a
// typo must not silently change behaviour). String values may use ${ENV_VAR} (an unset variable
// is a problem) and ${ENV_VAR:-default}.

#include "nodes/platform_config.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace rotor::nodes {

class config_error : public std::runtime_error {
  public:
    explicit config_error(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const noexcept { return problems_; }

  private:
    std::vector<std::string> problems_;
};

using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
std::optional<std::string> process_env(const std::string& name);

/// `text` with ${NAME} and ${NAME:-default} replaced; nullopt and `error` set when a variable
/// is unset (without a default) or a ${ is not closed.
std::optional<std::string> expand_env(const std::string& text, const env_lookup& env,
                                      std::string& error);

/// Parses one platform's YAML (`source` names it in messages). Throws config_error.
platform_config parse_platform_config(const std::string& yaml, const std::string& source,
                                      const env_lookup& env = process_env);
/// Reads and parses a file; the platform must match the file's name. Throws config_error.
platform_config load_platform_config(const std::filesystem::path& file,
                                     const env_lookup& env = process_env);
/// config_dir/{platform}.yaml. Throws config_error.
platform_config load_platform(const std::filesystem::path& config_dir, const std::string& platform,
                              const env_lookup& env = process_env);

} // namespace rotor::nodes

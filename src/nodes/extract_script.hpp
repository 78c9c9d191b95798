#pragma once
// The one function every item's extraction runs in the page. Its source is fixed; the field
// specs travel as arguments (Runtime.callFunctionOn), so nothing from a config or a job is ever
// pasted into JavaScript.

#include "nodes/platform_config.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace rotor::nodes {

/// (fields, blockSelector, blockText) => {fields: {name: text or null}, blocked: bool}
const std::string& extract_function();
/// The arguments for extract_function: [[{name, selector, read, attribute}...], selector, text].
nlohmann::json extract_arguments(const scan_spec& scan);

} // namespace rotor::nodes

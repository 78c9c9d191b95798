#pragma once
// An API request body built from a JSON template and an item: the strings "{id}" and
// "{data.NAME}" become the item's id and the value it was enqueued with under NAME, as JSON
// values (a number stays a number); inside a longer string they are replaced by their text.
// The result is serialized as JSON, so an item's values are data, never request syntax. Pure.

#include <nlohmann/json.hpp>

#include <string>

namespace rotor::nodes {

/// The rendered body; `problem` says why it cannot be built ("" when it could): an item
/// without the data.NAME the template asks for.
nlohmann::json render_template(const nlohmann::json& tmpl, const std::string& id,
                               const nlohmann::json& data, std::string& problem);

} // namespace rotor::nodes

#include "queue/detail/job_params.hpp"

namespace rotor::queue::detail {

std::optional<std::string> read_job_params(const std::string& text, nlohmann::json& params) {
    try {
        params = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        params = nlohmann::json();
        return "params are not valid JSON (parse error at byte " + std::to_string(e.byte) + ")";
    } catch (const nlohmann::json::exception& e) {
        params = nlohmann::json(); // e.g. a number out of range
        return "params are not valid JSON (error " + std::to_string(e.id) + ")";
    }
    if (!params.is_object()) return "params are not a JSON object";
    const auto it = params.find("product_ids");
    if (it == params.end()) return "params.product_ids is missing";
    if (!it->is_array()) return "params.product_ids is not an array";
    if (it->empty()) return "params.product_ids is empty";
    for (const auto& v : *it) {
        if (!v.is_string() && !v.is_number()) {
            return "params.product_ids holds something other than strings and numbers";
        }
    }
    // item_data (optional): the values an item was enqueued with besides its id (a JSONL object
    // or a CSV row), one entry per product id, null for an item without any.
    const auto data = params.find("item_data");
    if (data != params.end()) {
        if (!data->is_array()) return "params.item_data is not an array";
        if (data->size() != it->size()) {
            return "params.item_data has " + std::to_string(data->size()) + " entries for " +
                   std::to_string(it->size()) + " product ids";
        }
        for (const auto& v : *data) {
            if (!v.is_object() && !v.is_null()) {
                return "params.item_data holds something other than objects and null";
            }
        }
    }
    return std::nullopt;
}

} // namespace rotor::queue::detail

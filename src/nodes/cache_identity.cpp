#include "nodes/cache_identity.hpp"

#include "nodes/scan_product_node.hpp"

#include <cstdint>
#include <cstdio>

namespace rotor::nodes {

std::string cache_identity(const platform_config& config, const std::string& item_id,
                           const nlohmann::json& item_data) {
    // The request: where (URL template), how (method, headers, body, GraphQL query), with what
    // browser (the page profile: headers, user agent, cookies, viewport, what is blocked, which
    // hosts), what is waited for, what "gone" means; the item (id, enqueued data); and how each
    // field is read. v1 left out the headers, `found`, the page profile and wait_for: an entry
    // fetched with another currency header or region cookie answered. block_detect too: a page
    // stored ok before block detection was tightened may have been a block page.
    // A profile with invalid UTF-8 cannot be hashed by key(); the pool refuses it at every lease
    // (invalid_profile), so no page is ever fetched under it: a fixed stand-in does.
    std::string profile;
    try {
        profile = profile_for(config).key();
    } catch (const std::exception&) {
        profile = "unusable";
    }
    nlohmann::json doc = {
        {"type", std::string(to_string(config.type))},
        {"url", config.url_template},
        {"method", config.api.method},
        {"headers", config.api.headers},
        {"body", config.api.body ? config.api.body->dump() : ""},
        {"graphql", config.api.graphql_query},
        {"found", config.api.found},
        {"profile", profile},
        {"wait_for", {config.scan.wait_for.selector, config.scan.wait_for.expression}},
        {"block_detect",
         {config.scan.block_detect.selector, config.scan.block_detect.text,
          config.scan.block_detect.status}},
        {"id", item_id},
        {"data", item_data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}};
    auto& fields = doc["fields"] = nlohmann::json::array();
    for (const auto& f : fields_of(config)) {
        fields.push_back({f.name, f.selector, f.pointer, f.attribute, static_cast<int>(f.read),
                          static_cast<int>(f.type), f.regex.value_or(""), f.required});
    }
    // Invalid UTF-8 in a header or an id is replaced, not thrown: the text is only hashed.
    const std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::uint64_t h = 14695981039346656037ull;
    for (const unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char hex[24];
    std::snprintf(hex, sizeof hex, "v2:%016llx", static_cast<unsigned long long>(h));
    return hex;
}

} // namespace rotor::nodes

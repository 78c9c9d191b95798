#pragma once
// The URL of an item: its id checked against the platform's id_pattern, percent-encoded as one
// path segment or query value into url_template's {id}, and the result checked against the
// platform's allowed hosts (url_policy) before anything is asked of a browser or an HTTP client.
// An id that fails any of these is a malformed item: recorded with the reason, never fetched.
// (A probe once enqueued "../../__reset": the browser fetched the shop's /__reset and reset it.)

#include "cdp/url_policy.hpp"
#include "nodes/platform_config.hpp"

#include <regex>
#include <string>

namespace rotor::nodes {

struct item_url {
    std::string url;     // set when the item may be fetched
    std::string problem; // why not ("" when it may)
};

class url_builder {
  public:
    /// Throws std::invalid_argument for an unusable allowed_hosts entry or id_pattern.
    explicit url_builder(const platform_config& config);
    item_url url_for(const std::string& id) const;
    const cdp::url_policy& policy() const noexcept { return policy_; }

  private:
    std::string template_;
    std::regex id_pattern_;
    std::string id_pattern_text_;
    cdp::url_policy policy_;
};

/// RFC 3986 percent-encoding of everything but unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(const std::string& text);

} // namespace rotor::nodes

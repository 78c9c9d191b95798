#pragma once
// api_fetch: the HTTP node of API platforms. Builds the item's URL (malformed ids and hosts off
// the list are never requested) and body (a JSON template with the item's values as data),
// waits politely (the platform's shared rate and a lane's jitter), sends the request through
// the workflow's HTTP client (libcurl multi; the address a host resolves to is checked before
// connecting), follows GET redirects that stay on allowed hosts, and reads the fields from the
// JSON answer by JSON pointer. Outcomes follow the browser node's rules: 404/410 gone (also a
// null at `found`: a GraphQL "not found"), cooldown_on statuses slow every worker down and
// retry, 5xx and timeouts retry, other 4xx and answers that are not JSON fail.

#include "http/client.hpp"
#include "nodes/item_url.hpp"
#include "nodes/node.hpp"
#include "nodes/platform_config.hpp"
#include "nodes/politeness.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <optional>
#include <regex>
#include <vector>

namespace rotor::nodes {

struct api_counters {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> refused{0};   // malformed ids, hosts or addresses off the list
    std::atomic<std::uint64_t> cooldowns{0}; // 429/503
};

class api_fetch_node final : public node {
  public:
    /// `http`: the client requests go through (the workflow's); `limiter` null: no shared rate.
    api_fetch_node(std::string id, const platform_config& config, http::client& http,
                   queue::rate_limiter* limiter, boost::asio::thread_pool& blocking);
    const std::string& id() const noexcept override { return id_; }
    boost::asio::awaitable<item_outcome> run(item_context& item) override;
    const api_counters& counters() const noexcept { return counters_; }

    /// How many redirects a GET follows (each checked against allowed_hosts).
    static constexpr int max_redirects = 5;

  private:
    item_outcome read_answer(item_context& item, const http::response& res);

    std::string id_;
    const platform_config& config_;
    http::client& http_;
    url_builder urls_;
    politeness polite_;
    std::vector<std::optional<std::regex>> regexes_;     // per field, compiled once
    std::vector<nlohmann::json::json_pointer> pointers_; // per field, parsed once
    std::optional<nlohmann::json::json_pointer> found_;
    api_counters counters_;
};

/// Why `url` is refused before libcurl sees it (a backslash, a control character, user
/// information: where the URL standard and libcurl read a host differently), "" when it is not.
std::string ambiguous_url(const std::string& url);

/// Answers nested deeper than this are refused (dumping them would recurse that deep).
inline constexpr int max_answer_depth = 64;
/// An API answer parsed; `problem` says why it is unusable ("not JSON", "nested deeper ...").
nlohmann::json parse_answer(const std::string& body, std::string& problem);

/// The HTTP client options for a platform: its address guard (allowed_hosts, and no public name
/// leading to a private or metadata address), its connection limit.
http::client_options http_options_for(const platform_config& config);

} // namespace rotor::nodes

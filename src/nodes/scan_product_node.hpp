#pragma once
// scan_product: the browser node. Builds the item's URL (malformed ids and hosts off the list
// never reach the browser), waits politely (the platform's shared rate and a lane's jitter),
// leases a page with the platform's profile, navigates, reads the status (404/410: gone;
// cooldown_on: everyone slows down, then a retry; 5xx: a retry), detects a block page, waits
// for the data and extracts every field in one evaluation whose specs are passed as arguments
// (never pasted into source).

#include "http/client.hpp"
#include "nodes/item_url.hpp"
#include "nodes/node.hpp"
#include "nodes/platform_config.hpp"
#include "nodes/politeness.hpp"
#include "pool/browser_pool.hpp"
#include "queue/rate_limiter.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <vector>

namespace rotor::nodes {

struct scan_services {
    pool::browser_pool* pool = nullptr;
    queue::rate_limiter* limiter = nullptr;       // null: no shared rate
    boost::asio::thread_pool* blocking = nullptr; // for Redis calls
    http::client* http = nullptr;                 // api_fetch (null: the workflow makes one)
};

struct scan_counters {
    std::atomic<std::uint64_t> navigations{0};
    std::atomic<std::uint64_t> refused{0};   // malformed ids, hosts off the list
    std::atomic<std::uint64_t> cooldowns{0}; // 429/503 or a block page
};

class scan_product_node final : public node {
  public:
    scan_product_node(std::string id, const platform_config& config, scan_services services);
    const std::string& id() const noexcept override { return id_; }
    boost::asio::awaitable<item_outcome> run(item_context& item) override;
    const scan_counters& counters() const noexcept { return counters_; }
    /// The page profile every lease of this platform gets.
    const cdp::page_profile& profile() const noexcept { return profile_; }

  private:
    boost::asio::awaitable<item_outcome> scan_on_page(pool::page_lease& lease, item_context& item);
    boost::asio::awaitable<item_outcome> cool_down(const std::string& why);

    std::string id_;
    const platform_config& config_;
    scan_services services_;
    url_builder urls_;
    politeness polite_;
    cdp::page_profile profile_;
    nlohmann::json field_args_;
    std::vector<std::optional<std::regex>> regexes_; // per field, compiled once
    scan_counters counters_;
};

/// The page profile of a platform (headers, user agent, cookies, blocking, allowed hosts).
cdp::page_profile profile_for(const platform_config& config);

} // namespace rotor::nodes

#pragma once
// A platform's workflow built from its config: the nodes in order, and the services they share.

#include "http/client.hpp"
#include "nodes/api_fetch_node.hpp"
#include "nodes/node.hpp"
#include "nodes/platform_config.hpp"
#include "nodes/scan_product_node.hpp"
#include "nodes/simple_nodes.hpp"

#include <memory>
#include <vector>

namespace rotor::nodes {

class workflow {
  public:
    /// Throws std::invalid_argument for a node type this build cannot run, std::runtime_error
    /// for a sink that cannot open. `redis`: for a redis_stream sink (null: none may be used).
    workflow(const platform_config& config, scan_services services,
             const queue::redis_options* redis = nullptr);

    const std::vector<std::unique_ptr<node>>& nodes() const noexcept { return nodes_; }
    /// The save node, or null when the workflow saves nowhere but Redis.
    save_node* saver() const noexcept { return saver_; }
    scan_product_node* scanner() const noexcept { return scanner_; }
    api_fetch_node* fetcher() const noexcept { return fetcher_; }
    /// The HTTP client of api_fetch (null without one).
    http::client* http() const noexcept { return http_ ? http_.get() : external_http_; }
    /// The node id an item's checkpoint is kept under (the last node: an item is done once it
    /// went through every node).
    const std::string& checkpoint_node() const { return nodes_.back()->id(); }

  private:
    std::unique_ptr<http::client> http_; // before the nodes that use it: destroyed after them
    http::client* external_http_ = nullptr;
    std::vector<std::unique_ptr<node>> nodes_;
    save_node* saver_ = nullptr;
    scan_product_node* scanner_ = nullptr;
    api_fetch_node* fetcher_ = nullptr;
};

} // namespace rotor::nodes

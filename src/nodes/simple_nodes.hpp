#pragma once
// validate: an item's required fields are present and typed (a failure is a recorded item
// failure). save: writes the item to the platform's sinks before it is checkpointed.

#include "nodes/node.hpp"
#include "nodes/platform_config.hpp"
#include "nodes/sink.hpp"

#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <vector>

namespace rotor::nodes {

class validate_node final : public node {
  public:
    validate_node(std::string id, const platform_config& config);
    const std::string& id() const noexcept override { return id_; }
    boost::asio::awaitable<item_outcome> run(item_context& item) override;

  private:
    std::string id_;
    const platform_config& config_;
};

class save_node final : public node {
  public:
    save_node(std::string id, std::vector<std::shared_ptr<sink>> sinks,
              boost::asio::thread_pool& blocking);
    const std::string& id() const noexcept override { return id_; }
    /// Saves an item that went through the workflow (outcome ok).
    boost::asio::awaitable<item_outcome> run(item_context& item) override;
    /// Saves an item that ended otherwise (gone or failed), so every item has its line.
    boost::asio::awaitable<void> save_end(const item_context& item, const item_outcome& outcome);
    void end_of_job() override;

  private:
    boost::asio::awaitable<void> write(item_record record);

    std::string id_;
    std::vector<std::shared_ptr<sink>> sinks_;
    boost::asio::thread_pool& blocking_;
};

item_record record_of(const item_context& item, const item_outcome& outcome);

} // namespace rotor::nodes

#pragma once
// A workflow node: one step an item goes through (scan, validate, save). Nodes run as
// coroutines on the executor's threads: they must not block (blocking calls go through
// run_blocking, detail/blocking.hpp).

#include "nodes/item_outcome.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace rotor::nodes {

class node {
  public:
    virtual ~node() = default;
    virtual const std::string& id() const noexcept = 0;
    virtual boost::asio::awaitable<item_outcome> run(item_context& item) = 0;
    /// Called once when the job's items have all ended, before it completes (a sink flushes
    /// and syncs; sink_error then keeps the job from completing).
    virtual void end_of_job() {}
};

} // namespace rotor::nodes

#include "nodes/simple_nodes.hpp"

#include "nodes/detail/blocking.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace rotor::nodes {

std::string_view to_string(outcome_kind k) {
    switch (k) {
    case outcome_kind::ok:
        return "ok";
    case outcome_kind::gone:
        return "gone";
    case outcome_kind::failed:
        return "failed";
    case outcome_kind::retry:
        return "retry";
    case outcome_kind::blocked:
        return "blocked";
    case outcome_kind::abandoned:
        return "abandoned";
    case outcome_kind::cached:
        return "cached";
    }
    return "?";
}

validate_node::validate_node(std::string id, const platform_config& config)
    : id_(std::move(id)), config_(config) {}

boost::asio::awaitable<item_outcome> validate_node::run(item_context& item) {
    std::string why;
    for (const auto& f : fields_of(config_)) {
        if (!f.required) continue;
        const auto problem = item.problems.find(f.name);
        if (problem != item.problems.end()) {
            why += (why.empty() ? "" : "; ") + f.name + ": " + problem->get<std::string>();
        } else if (!item.fields.contains(f.name) || item.fields[f.name].is_null()) {
            why += (why.empty() ? "" : "; ") + f.name +
                   (f.pointer.empty() ? ": missing (no element matches " + f.selector + ")"
                                      : ": missing (nothing at " + f.pointer + ")");
        }
    }
    if (!why.empty()) co_return item_outcome::failed("validation: " + why);
    co_return item_outcome::ok();
}

item_record record_of(const item_context& item, const item_outcome& outcome) {
    item_record r;
    r.platform = item.platform;
    r.run = item.job_id;
    r.lease = item.lease;
    r.item = item.id;
    r.index = item.index;
    r.outcome = std::string(to_string(outcome.kind));
    r.reason = outcome.reason;
    r.fields = item.fields;
    r.status = item.http_status;
    r.url = item.url;
    r.timings = item.timings;
    r.data = item.data;
    r.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    return r;
}

save_node::save_node(std::string id, std::vector<std::shared_ptr<sink>> sinks,
                     boost::asio::thread_pool& blocking)
    : id_(std::move(id)), sinks_(std::move(sinks)), blocking_(blocking) {
    std::stable_partition(sinks_.begin(), sinks_.end(),
                          [](const auto& s) { return s->may_refuse(); });
}

boost::asio::awaitable<void> save_node::write(item_record record) {
    // Sinks that may refuse a record come first (the constructor orders them): an ok record one
    // refuses reaches no other sink, and the item is then saved as failed everywhere. A record
    // of an item that ended otherwise goes to every sink; a refusal is only logged.
    auto write_all = [sinks = sinks_, r = std::move(record)] {
        for (const auto& s : sinks) {
            if (!s->takes(r.outcome)) continue;
            try {
                s->write(r);
            } catch (const record_refused& e) {
                if (r.outcome == "ok") throw;
                spdlog::warn("{}: item {} ({}): sink {}: {}", r.platform, r.item, r.outcome,
                             s->name(), e.what());
            }
        }
    };
    co_await detail::run_blocking(blocking_, std::move(write_all));
}

boost::asio::awaitable<item_outcome> save_node::run(item_context& item) {
    // A sink that is down (disk full, a server away) throws sink_error: the worker's fault, not
    // the item's; the executor gives the job back rather than burn the items.
    auto record = record_of(item, item_outcome::ok());
    try {
        co_await write(std::move(record));
    } catch (const record_refused& e) {
        co_return item_outcome::failed(e.what()); // the item's values, not the worker
    }
    co_return item_outcome::ok();
}

boost::asio::awaitable<void> save_node::save_end(const item_context& item,
                                                 const item_outcome& outcome) {
    auto record = record_of(item, outcome);
    co_await write(std::move(record)); // a refusal is logged per sink (write_all)
}

void save_node::end_of_job() {
    for (const auto& s : sinks_) s->flush(); // sink_error: the job is not completed
}

} // namespace rotor::nodes

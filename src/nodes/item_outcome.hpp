#pragma once
// What happened to an item in a node, and the item as it moves through a workflow.

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace rotor::nodes {

using std::chrono::milliseconds;

enum class outcome_kind {
    ok,      // this node is done with the item; the next node takes it
    gone,    // the item no longer exists (404/410): recorded as a result, not retried
    failed,  // the item cannot be done (bad id, no data, validation): recorded with the reason
    retry,   // a passing problem (timeout, crash, 5xx): the item is tried again after `after`
    blocked, // the platform pushed back (429, a block page): everyone slows down, then a retry
    // Not the item's doing: a stop, a lost lease, or a fault of this worker (its pool cannot
    // serve, a sink is down). Nothing is saved or recorded; the item is redone by whoever runs
    // the job next (after a release, a retry or a takeover).
    abandoned,
    // Saved less than the platform's cache_ttl ago: answered from Redis, not fetched again.
    cached,
};

struct item_outcome {
    outcome_kind kind = outcome_kind::ok;
    std::string reason;
    milliseconds after{0}; // retry/blocked: wait this long before the next attempt
    bool crash = false;    // the renderer crashed or the browser died under this item

    static item_outcome ok() { return {}; }
    static item_outcome gone(std::string why) { return {outcome_kind::gone, std::move(why)}; }
    static item_outcome failed(std::string why) { return {outcome_kind::failed, std::move(why)}; }
    static item_outcome retry(std::string why, milliseconds after = milliseconds(0)) {
        return {outcome_kind::retry, std::move(why), after};
    }
    static item_outcome blocked(std::string why, milliseconds after) {
        return {outcome_kind::blocked, std::move(why), after};
    }
    static item_outcome abandoned(std::string why) {
        return {outcome_kind::abandoned, std::move(why)};
    }
};

std::string_view to_string(outcome_kind k);

/// One item on its way through a workflow (one attempt's state is reset per attempt).
struct item_context {
    std::string platform;
    std::string job_id; // also the run: repeats after a resume share (platform, item, run)
    std::string lease;  // the job's lease token when the item ran
    std::size_t index = 0;
    std::string id;
    nlohmann::json data; // the values the item was enqueued with (object or null)
    std::string url;     // set by the node that fetched it
    int attempt = 0;     // 0 for the first
    int http_status = 0;
    nlohmann::json fields = nlohmann::json::object();   // extracted, typed values
    nlohmann::json problems = nlohmann::json::object(); // field -> why it is unreadable
    nlohmann::json timings = nlohmann::json::object();  // step -> ms
    std::chrono::steady_clock::time_point deadline;     // of this attempt (timeouts.item)
    std::function<bool()> should_stop;                  // true: waits end early (stop, lease lost)
    std::atomic<std::int64_t>* activity = nullptr;      // steady ms of the last sign of life

    bool stopping() const { return should_stop && should_stop(); }
    /// A sign of life during a legitimate wait (the rate, a cooldown, a backoff): the heartbeat's
    /// stall check measures from the latest one.
    void touch() const {
        if (activity != nullptr) {
            *activity = std::chrono::duration_cast<milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
        }
    }

    milliseconds remaining() const {
        return std::chrono::duration_cast<milliseconds>(deadline -
                                                        std::chrono::steady_clock::now());
    }
};

} // namespace rotor::nodes

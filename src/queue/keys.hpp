#pragma once
// Redis key names. The defaults keep the names the user's tools already read
// (workflow:queue:platform:{p}, workflow:job:{id}, ...); the prefix is configurable.

#include <string>

namespace rotor::queue {

class keys {
  public:
    explicit keys(std::string prefix = "workflow:") : prefix_(std::move(prefix)) {}
    const std::string& prefix() const noexcept { return prefix_; }

    std::string queue(const std::string& platform) const {
        return prefix_ + "queue:platform:" + platform;
    }
    std::string job(const std::string& id) const { return prefix_ + "job:" + id; }
    std::string lock(const std::string& platform) const {
        return prefix_ + "lock:platform:" + platform;
    }
    std::string running(const std::string& platform) const {
        return prefix_ + "running:platform:" + platform;
    }
    std::string delayed(const std::string& platform) const {
        return prefix_ + "delayed:platform:" + platform;
    }
    std::string dead(const std::string& platform) const {
        return prefix_ + "dead:platform:" + platform;
    }
    std::string checkpoint(const std::string& job_id, const std::string& node_id) const {
        return prefix_ + "checkpoint:" + job_id + ":" + node_id;
    }
    std::string failures(const std::string& job_id) const { return prefix_ + "failures:" + job_id; }
    std::string results(const std::string& job_id) const { return prefix_ + "results:" + job_id; }
    /// Stamped by renewals, heartbeats and reaps; a long gap means an outage (lua/includes).
    std::string pulse() const { return prefix_ + "pulse"; }
    /// While it exists no stalled job is reaped: workers reconnect and renew first.
    std::string reap_hold() const { return prefix_ + "reap-hold"; }
    std::string batch_group(const std::string& group_id) const {
        return prefix_ + "batch-group:" + group_id;
    }
    /// A batch group's job counter: job ids are {group}-{n}; never expires, so no id is reused
    /// after the group's hash expired.
    std::string batch_group_seq(const std::string& group_id) const {
        return prefix_ + "batch-group-seq:" + group_id;
    }
    std::string workers() const { return prefix_ + "workers"; }
    std::string workers_seen() const { return prefix_ + "workers:seen"; }
    /// A one-off enqueue chunk's record (a hash: chunk:0 -> first job number and digest), so a
    /// replayed chunk adds nothing.
    std::string enqueue_request(const std::string& request_id) const {
        return prefix_ + "enqueue:" + request_id;
    }
    /// An idempotency key's record (a hash): what it is bound to (platform, group, workflow,
    /// tier, max_attempts) and chunk:<n> -> first job number and digest, one expiry for all.
    std::string enqueue_key(const std::string& key) const { return prefix_ + "enqueue:key:" + key; }
    std::string rate(const std::string& platform) const {
        return prefix_ + "ratelimit:platform:" + platform;
    }
    std::string cooldown(const std::string& platform) const { return rate(platform) + ":cooldown"; }
    /// An item's freshness entry (the platform's cache_ttl).
    std::string cache(const std::string& platform, const std::string& item) const {
        return prefix_ + "cache:platform:" + platform + ":" + item;
    }
    /// While it exists (rotorctl pause), no job of the platform is claimed; its value says who
    /// paused it, when and why (JSON).
    std::string paused(const std::string& platform) const {
        return prefix_ + "paused:platform:" + platform;
    }
    std::string concurrency(const std::string& platform) const {
        return prefix_ + "concurrency:platform:" + platform;
    }

  private:
    std::string prefix_;
};

} // namespace rotor::queue

#pragma once
// One synchronous connection to Redis through hiredis, with connect and command timeouts, and
// reconnect-and-retry with backoff while Redis is down or restarting. Scripts are loaded once
// and run with EVALSHA, falling back to EVAL (which also loads them) on NOSCRIPT, e.g. after a
// restart emptied the script cache.
//
// Not thread-safe: one connection per thread (or a mutex around it).

#include "queue/redis_reply.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rotor::queue {

using std::chrono::milliseconds;

struct redis_options {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string username; // ACL user (Redis 6+); empty: AUTH with the password alone
    std::string password; // empty: no AUTH
    int db = 0;           // SELECT after connecting when not 0
    milliseconds connect_timeout{2000};
    milliseconds command_timeout{5000};
    milliseconds retry_for{60000};   // keep reconnecting this long before giving up
    milliseconds retry_backoff{100}; // first wait; doubles up to retry_backoff_max
    milliseconds retry_backoff_max{2000};
    /// When set and non-zero: a steady-clock time (ms since its epoch) after which no retry
    /// starts, whatever retry_for says. Shared by every connection made from these options: a
    /// stopping worker sets it so its last Redis calls end within its grace.
    std::shared_ptr<const std::atomic<std::int64_t>> cutoff;
};

/// Now on the steady clock, as ms since its epoch (what redis_options::cutoff holds).
std::int64_t steady_now_ms() noexcept;

/// redis://[[user]:password@]host[:port][/db] into options (the rest keep their defaults).
/// Throws errc::invalid_argument naming what is wrong.
redis_options parse_redis_url(const std::string& url);
/// The URL's address, credentials and database into `options` (its timeouts stay).
void apply_redis_url(redis_options& options, const std::string& url);

struct lua_script {
    std::string name; // for messages
    std::string body;
    std::string sha; // SHA1 of body, computed on first use (SCRIPT LOAD)
};

class redis_connection {
  public:
    explicit redis_connection(redis_options options);
    ~redis_connection();
    redis_connection(const redis_connection&) = delete;
    redis_connection& operator=(const redis_connection&) = delete;

    /// Runs one command (argv form, binary-safe). Reconnects and retries on connection errors
    /// until `retry_for` passes (then errc::redis_unavailable). A Redis error reply is thrown as
    /// errc::redis_error naming the command.
    redis_reply command(const std::vector<std::string>& argv);
    /// As command(), but `on_retry` may rewrite argv before each retry. A command whose
    /// connection broke or timed out may still have run (the reply was lost, or Redis was slow
    /// and ran it after the timeout), so a retry can be a replay.
    redis_reply command(std::vector<std::string> argv,
                        const std::function<void(std::vector<std::string>&)>& on_retry);
    /// EVALSHA with NOSCRIPT fallback. `replay_flag`: the index in `args` of an argument set to
    /// "1" when the script is sent again after a failure that may have let it run, so the
    /// script can answer a replay with what it did the first time.
    redis_reply eval(lua_script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args,
                     std::optional<std::size_t> replay_flag = std::nullopt);

    bool connected() const noexcept;
    /// Times the connection was re-established after a failure.
    std::uint64_t reconnects() const noexcept { return reconnects_.load(); }
    const redis_options& options() const noexcept { return options_; }

  private:
    struct impl;
    void connect();
    redis_options options_;
    std::unique_ptr<impl> impl_;
    std::atomic<std::uint64_t> reconnects_{0}; // read by /metrics from another thread
};

} // namespace rotor::queue

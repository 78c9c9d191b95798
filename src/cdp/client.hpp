#pragma once
// The DevTools protocol over one Beast websocket: commands with ids and deadlines, flattened
// sessions, events dispatched by (sessionId, method), crash and disconnect fan-out.
//
// Threading: the socket and the write queue live on the client's executor (one I/O thread); the
// pending-command table is shared under a mutex, so a call is registered on the caller's thread
// and close() fails every call without needing the I/O thread. Every public member is safe to
// call from any thread; completions run on the caller's own executor (the coroutine's, or a
// future's).

#include "cdp/detail/completion.hpp"
#include "cdp/errors.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rotor::cdp {

using json = nlohmann::json;
using std::chrono::milliseconds;

class client;

/// Callbacks of one subscription; they must not block. on_event runs on the client's I/O thread;
/// on_close runs on the thread that ends the session or closes the client (often the I/O thread,
/// or at once in subscribe() if the session has already ended).
struct event_handlers {
    std::function<void(const json& params)> on_event; // each matching event
    std::function<void(const error& why)> on_close;   // once, when the session or socket ends
};

/// Owns an event subscription; unsubscribes when destroyed or reset.
class subscription {
  public:
    subscription() = default;
    subscription(subscription&& other) noexcept;
    subscription& operator=(subscription&& other) noexcept;
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { reset(); }
    void reset();

  private:
    friend class client;
    subscription(std::weak_ptr<client> owner, std::string session, std::uint64_t id)
        : client_(std::move(owner)), session_(std::move(session)), id_(id) {}
    std::weak_ptr<client> client_;
    std::string session_;
    std::uint64_t id_ = 0;
};

struct client_stats {
    std::uint64_t commands = 0;       // commands written
    std::uint64_t replies = 0;        // replies matched to a pending command
    std::uint64_t late_replies = 0;   // replies whose command had already timed out
    std::uint64_t timeouts = 0;       // commands that got no reply within their deadline
    std::uint64_t events = 0;         // events received
    std::uint64_t malformed = 0;      // messages that were not JSON objects of a known shape
    std::uint64_t handler_errors = 0; // exceptions caught from event handlers and predicates
    std::uint64_t oversized = 0;   // messages over max_message_bytes (reply failed, event dropped)
    std::size_t pending = 0;       // commands waiting for a reply now
    std::size_t subscriptions = 0; // live event subscriptions
    std::size_t read_buffer_capacity = 0; // bytes the websocket read buffer holds on to now
};

class client : public std::enable_shared_from_this<client> {
  public:
    /// Opens ws://127.0.0.1:port/path on `io` (run by one thread). Blocking; must not be called
    /// on that thread. The client keeps `io` alive, so objects made on it (timers of waiting
    /// pages) stay valid after the browser is gone. Throws error(errc::connect_failed).
    static std::shared_ptr<client> connect(std::shared_ptr<boost::asio::io_context> io,
                                           unsigned short port, const std::string& path,
                                           milliseconds timeout);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends `method` with `params` to `session_id` ("" for the browser) and completes with the
    /// reply's `result`, or fails with cdp::error: timeout after `timeout` (a late reply is
    /// dropped), protocol_error, browser_closed, target_crashed or target_closed, or at once with
    /// invalid_argument when `params` cannot be serialized (a string that is not valid UTF-8).
    /// Completion signature: void(std::exception_ptr, json).
    template <typename Token>
    auto async_call(std::string method, json params, std::string session_id, milliseconds timeout,
                    Token&& token) {
        return boost::asio::async_initiate<Token, void(std::exception_ptr, json)>(
            [self = shared_from_this()](auto handler, std::string m, json p, std::string s,
                                        milliseconds t) {
                self->start_call(std::move(m), std::move(p), std::move(s), t,
                                 detail::completion(std::move(handler)));
            },
            token, std::move(method), std::move(params), std::move(session_id), timeout);
    }

    /// Calls `handlers.on_event` for each `method` event of `session_id` until the returned
    /// subscription is destroyed; `on_close` fires once if the session or the socket ends first
    /// (at once if it already has). Subscriptions of a session are dropped when it ends.
    subscription subscribe(const std::string& session_id, std::string method,
                           event_handlers handlers);

    /// Ties a target to its session so Target.targetCrashed (which names only the target) ends
    /// that session's commands and waits.
    void track_target(const std::string& target_id, const std::string& session_id);
    /// Drops what the client remembers about an ended session (call when a page is gone).
    void forget_session(const std::string& session_id);
    /// Ends a session now: pending commands and subscriptions fail with `why`.
    void end_session(const std::string& session_id, errc code, const std::string& why);

    /// Fails everything pending with browser_closed(`why`) on the calling thread (so nothing is
    /// lost when the I/O thread has stopped) and closes the socket. Thread-safe, idempotent.
    void close(const std::string& why = "client closed");
    bool is_open() const noexcept { return open_.load(); }
    /// Why the connection ended ("" while open).
    std::string close_reason() const;
    boost::asio::any_io_executor get_executor() const { return executor_; }
    client_stats stats() const;

    static constexpr std::size_t default_max_message_bytes = 256u << 20;
    /// The largest message kept: a larger reply fails its command with errc::reply_too_large
    /// ("<method>: reply of N bytes exceeds the limit of M bytes"), a larger event is dropped
    /// (both counted in stats().oversized); the connection stays open. Takes effect from the next
    /// message. 0 means no limit. Thread-safe.
    void set_max_message_bytes(std::size_t bytes) noexcept;
    std::size_t max_message_bytes() const noexcept;

    struct impl;

  private:
    explicit client(std::shared_ptr<boost::asio::io_context> io);
    void start_call(std::string method, json params, std::string session, milliseconds timeout,
                    detail::completion done);
    void enqueue_write(std::string text);
    void write_next();
    bool fail_everything(errc code, const std::string& why);
    void on_timeout(std::uint64_t id, milliseconds timeout);
    void start_read();
    void on_read(boost::system::error_code ec);
    void on_message(std::string_view text);
    void on_oversized(const std::string& prefix, std::size_t size, std::size_t limit);
    void dispatch_event(const std::string& session, const std::string& method, const json& params);
    void unsubscribe(const std::string& session, std::uint64_t id);
    friend class subscription;

    std::shared_ptr<boost::asio::io_context> io_; // first: destroyed after everything made on it
    boost::asio::any_io_executor executor_;
    std::unique_ptr<impl> impl_;
    std::atomic<bool> open_{false};
};

} // namespace rotor::cdp

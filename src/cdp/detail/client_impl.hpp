#pragma once
// The state behind cdp::client, shared by its translation units (client.cpp: connection,
// commands, close; client_events.cpp: incoming messages, sessions, subscriptions).

#include "cdp/client.hpp"
#include "cdp/detail/incoming_message.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace rotor::cdp {

namespace detail {

inline std::exception_ptr make_error(errc code, std::string what) {
    return std::make_exception_ptr(error(code, std::move(what)));
}

struct subscriber {
    std::uint64_t id = 0;
    std::string method;
    event_handlers handlers;
    std::atomic<bool> active{true};
};

struct pending_call {
    std::string method;
    std::string session;
    completion done;
    std::unique_ptr<boost::asio::steady_timer> timer;
};

struct ended_session {
    errc code;
    std::string why;
};

} // namespace detail

struct client::impl {
    explicit impl(const boost::asio::any_io_executor& ex) : ws(ex) {}

    // Owned by the I/O thread.
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws;
    detail::incoming_message incoming;
    std::deque<std::string> write_queue;
    bool writing = false;

    std::atomic<std::uint64_t> next_id{0};

    // Shared with callers on other threads, under `mutex`. A call is in `pending` from the moment
    // it is accepted (before its message is written), so close() and end_session() can fail
    // every call from any thread without the I/O thread: a call can never be lost between the
    // caller's thread and an I/O thread that has stopped.
    mutable std::mutex mutex;
    std::string close_reason; // "" while open
    std::unordered_map<std::uint64_t, detail::pending_call> pending;
    std::unordered_map<std::string, std::vector<std::shared_ptr<detail::subscriber>>> subscribers;
    // Sessions of live pages (track_target .. forget_session); bounded by the open pages, so an
    // ended session is remembered only while its page object exists.
    struct session_info {
        std::string target_id;
        std::optional<detail::ended_session> ended;
    };
    std::unordered_map<std::string, session_info> sessions;
    std::uint64_t next_subscriber = 0;
    std::size_t subscription_count = 0;

    // Counters, read by stats() from anywhere.
    std::atomic<std::uint64_t> commands{0}, replies{0}, late_replies{0}, timeouts{0}, events{0},
        malformed{0}, handler_errors{0}, oversized{0};
    std::atomic<std::size_t> pending_count{0}, read_buffer_capacity{0};
    std::atomic<std::size_t> max_message_bytes{client::default_max_message_bytes};
};

namespace detail {

/// Runs user code (an event handler, a predicate) or message handling on the I/O thread: what it
/// throws is logged and counted, never let out to the io_context (which would end the thread, or
/// the process).
template <typename F> void run_guarded(client::impl& im, std::string_view what, F&& f) noexcept {
    try {
        f();
    } catch (const std::exception& e) {
        ++im.handler_errors;
        spdlog::error("cdp: {} threw: {}", what, e.what());
    } catch (...) {
        ++im.handler_errors;
        spdlog::error("cdp: {} threw a non-standard exception", what);
    }
}

/// Removes call `id` from the table and returns it, if it is still there. Any thread.
inline std::optional<pending_call> take_pending(client::impl& im, std::uint64_t id) {
    std::lock_guard lock(im.mutex);
    auto it = im.pending.find(id);
    if (it == im.pending.end()) return std::nullopt;
    std::optional<pending_call> call(std::move(it->second));
    im.pending.erase(it);
    im.pending_count = im.pending.size();
    return call;
}

} // namespace detail

} // namespace rotor::cdp

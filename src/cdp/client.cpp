#include "cdp/client.hpp"

#include "cdp/detail/client_impl.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <future>

namespace rotor::cdp {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using detail::make_error;
using detail::pending_call;

// ---- subscription ---------------------------------------------------------------------------

subscription::subscription(subscription&& other) noexcept
    : client_(std::move(other.client_)), session_(std::move(other.session_)), id_(other.id_) {
    other.id_ = 0;
}

subscription& subscription::operator=(subscription&& other) noexcept {
    if (this != &other) {
        reset();
        client_ = std::move(other.client_);
        session_ = std::move(other.session_);
        id_ = other.id_;
        other.id_ = 0;
    }
    return *this;
}

void subscription::reset() {
    if (id_ != 0) {
        if (auto c = client_.lock()) c->unsubscribe(session_, id_);
        id_ = 0;
    }
    client_.reset();
}

// ---- connect --------------------------------------------------------------------------------

client::client(std::shared_ptr<asio::io_context> io)
    : io_(std::move(io)), executor_(io_->get_executor()), impl_(std::make_unique<impl>(executor_)) {
}

client::~client() {
    // Calls still registered (close() was never called) would otherwise be dropped unanswered.
    fail_everything(errc::browser_closed, "client destroyed");
}

std::shared_ptr<client> client::connect(std::shared_ptr<asio::io_context> io, unsigned short port,
                                        const std::string& path, milliseconds timeout) {
    const asio::any_io_executor executor = io->get_executor();
    std::shared_ptr<client> c(new client(std::move(io)));
    const std::string endpoint = "ws://127.0.0.1:" + std::to_string(port) + path;
    auto handshake = [c, port, path, timeout]() -> asio::awaitable<void> {
        auto& stream = beast::get_lowest_layer(c->impl_->ws);
        stream.expires_after(timeout);
        co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                      asio::use_awaitable);
        stream.socket().set_option(tcp::no_delay(true));
        auto& ws = c->impl_->ws;
        // Sizes are enforced per message by incoming_message (a reply over the limit fails
        // its command, not the connection).
        ws.read_message_max(0);
        ws.auto_fragment(false);
        const std::string host = "127.0.0.1:" + std::to_string(port);
        co_await ws.async_handshake(host, path, asio::use_awaitable);
        stream.expires_never();
    };
    auto done = asio::co_spawn(executor, handshake(), asio::use_future);
    if (done.wait_for(timeout + milliseconds(1000)) != std::future_status::ready) {
        asio::dispatch(executor, [c] { beast::get_lowest_layer(c->impl_->ws).close(); });
        done.wait();
        throw error(errc::connect_failed, "connect " + endpoint + ": no handshake within " +
                                              std::to_string(timeout.count()) + " ms");
    }
    try {
        done.get();
    } catch (const std::exception& e) {
        throw error(errc::connect_failed, "connect " + endpoint + ": " + e.what());
    }
    c->open_ = true;

    // The reader: one read in flight for the life of the socket.
    asio::dispatch(executor, [c] { c->start_read(); });
    return c;
}

void client::start_read() {
    auto& im = *impl_;
    im.ws.async_read_some(
        im.incoming.buffer(), detail::incoming_message::read_chunk,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void client::on_read(beast::error_code ec) {
    auto& im = *impl_;
    if (ec) {
        close(ec == websocket::error::closed ? "DevTools websocket closed by the browser"
                                             : "DevTools websocket read failed: " + ec.message());
        return;
    }
    const std::size_t limit = im.max_message_bytes;
    switch (im.incoming.on_read(im.ws.is_message_done(), limit)) {
    case detail::incoming_message::step::more:
        break;
    case detail::incoming_message::step::complete:
        detail::run_guarded(im, "handling a DevTools message",
                            [&] { on_message(im.incoming.text()); });
        im.incoming.next();
        break;
    case detail::incoming_message::step::oversized:
        detail::run_guarded(im, "handling an oversized DevTools message",
                            [&] { on_oversized(im.incoming.prefix(), im.incoming.size(), limit); });
        im.incoming.next();
        break;
    }
    im.read_buffer_capacity = im.incoming.capacity();
    if (open_) start_read();
}

void client::set_max_message_bytes(std::size_t bytes) noexcept {
    impl_->max_message_bytes = bytes;
}

std::size_t client::max_message_bytes() const noexcept {
    return impl_->max_message_bytes;
}

// ---- commands -------------------------------------------------------------------------------

void client::start_call(std::string method, json params, std::string session, milliseconds timeout,
                        detail::completion done) {
    // Runs on the caller's thread. The message is serialized here, so the I/O thread only
    // writes text.
    auto& im = *impl_;
    const std::uint64_t id = ++im.next_id;
    json message = json::object();
    message["id"] = id;
    message["method"] = method;
    message["params"] = params.is_null() ? json::object() : std::move(params);
    if (!session.empty()) message["sessionId"] = session;
    std::string text;
    try {
        text = message.dump();
    } catch (const json::exception& e) {
        // A string that is not valid UTF-8 (a URL, an expression, a header value): this command
        // fails before it is registered; nothing else is affected.
        std::string shown = message["params"].dump(-1, ' ', false, json::error_handler_t::replace);
        if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
        done.fail(make_error(errc::invalid_argument,
                             method + ": params cannot be sent (" + e.what() + "): " + shown));
        return;
    }

    {
        std::unique_lock lock(im.mutex);
        if (!im.close_reason.empty()) {
            std::string why = method + ": " + im.close_reason;
            lock.unlock();
            done.fail(make_error(errc::browser_closed, std::move(why)));
            return;
        }
        if (!session.empty()) {
            if (auto it = im.sessions.find(session); it != im.sessions.end() && it->second.ended) {
                const auto ended = *it->second.ended;
                lock.unlock();
                done.fail(make_error(ended.code, method + ": " + ended.why));
                return;
            }
        }
        pending_call call{std::move(method), std::move(session), std::move(done),
                          std::make_unique<asio::steady_timer>(executor_, timeout)};
        call.timer->async_wait([weak = weak_from_this(), id, timeout](beast::error_code ec) {
            if (ec) return;
            if (auto self = weak.lock()) self->on_timeout(id, timeout);
        });
        im.pending.emplace(id, std::move(call));
        im.pending_count = im.pending.size();
    }
    // Holds the client weakly: a stopped I/O thread never runs this, and must not keep the client
    // (and its io_context) alive through it. The call is already registered, so close() fails it.
    asio::dispatch(executor_, [weak = weak_from_this(), text = std::move(text)]() mutable {
        if (auto self = weak.lock()) self->enqueue_write(std::move(text));
    });
}

void client::enqueue_write(std::string text) {
    auto& im = *impl_;
    if (!open_) return; // closed meanwhile: the call has been failed by close()
    im.write_queue.push_back(std::move(text));
    ++im.commands;
    write_next();
}

void client::write_next() {
    auto& im = *impl_;
    if (im.writing || im.write_queue.empty() || !open_) return;
    im.writing = true;
    im.ws.async_write(asio::buffer(im.write_queue.front()),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          auto& state = *self->impl_;
                          state.writing = false;
                          state.write_queue.pop_front();
                          if (ec) {
                              self->close("DevTools websocket write failed: " + ec.message());
                              return;
                          }
                          self->write_next();
                      });
}

void client::on_timeout(std::uint64_t id, milliseconds timeout) {
    auto call = detail::take_pending(*impl_, id);
    if (!call) return;
    ++impl_->timeouts;
    call->done.fail(make_error(errc::timeout, call->method + ": no reply within " +
                                                  std::to_string(timeout.count()) + " ms"));
}

// ---- close ----------------------------------------------------------------------------------

bool client::fail_everything(errc code, const std::string& why) {
    auto& im = *impl_;
    std::unordered_map<std::uint64_t, pending_call> failed;
    std::unordered_map<std::string, std::vector<std::shared_ptr<detail::subscriber>>> dropped;
    {
        std::lock_guard lock(im.mutex);
        if (!im.close_reason.empty()) return false;
        im.close_reason = why;
        open_ = false;
        failed.swap(im.pending);
        im.pending_count = 0;
        dropped.swap(im.subscribers);
        im.subscription_count = 0;
    }
    if (!failed.empty()) {
        std::string methods;
        for (const auto& [id, call] : failed) {
            if (methods.size() < 300) methods += " " + call.method + "#" + std::to_string(id);
        }
        spdlog::info("cdp: closing ({}) with {} command(s) in flight:{}", why, failed.size(),
                     methods);
    }
    for (auto& [id, call] : failed) {
        // Out of the table, the timer is touched by this thread only (its handler holds the id).
        call.timer->cancel();
        call.done.fail(make_error(code, call.method + ": " + why));
    }
    const error reason(code, why);
    for (auto& [session, list] : dropped) {
        for (auto& s : list) {
            if (s->active.exchange(false) && s->handlers.on_close) {
                detail::run_guarded(im, "the close handler of " + s->method,
                                    [&] { s->handlers.on_close(reason); });
            }
        }
    }
    return true;
}

void client::close(const std::string& why) {
    // Everything is failed here, on the caller's thread: the I/O thread may already have stopped.
    if (!fail_everything(errc::browser_closed, why.empty() ? "client closed" : why)) return;
    asio::dispatch(executor_, [weak = weak_from_this()] {
        auto self = weak.lock();
        if (!self) return;
        auto& im = *self->impl_;
        beast::error_code ignored;
        beast::get_lowest_layer(im.ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(im.ws).close();
    });
}

std::string client::close_reason() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->close_reason;
}

client_stats client::stats() const {
    // A snapshot; counters written on the I/O thread may be a message behind.
    const auto& im = *impl_;
    client_stats s;
    s.commands = im.commands;
    s.replies = im.replies;
    s.late_replies = im.late_replies;
    s.timeouts = im.timeouts;
    s.events = im.events;
    s.malformed = im.malformed;
    s.handler_errors = im.handler_errors;
    s.oversized = im.oversized;
    s.read_buffer_capacity = im.read_buffer_capacity;
    s.pending = im.pending_count;
    std::lock_guard lock(im.mutex);
    s.subscriptions = im.subscription_count;
    return s;
}

} // namespace rotor::cdp

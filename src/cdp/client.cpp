#include "cdp/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <spdlog/spdlog.h>

#include <deque>
#include <future>
#include <map>
#include <optional>

namespace rotor::cdp {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

std::exception_ptr make_error(errc code, std::string what) {
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
    detail::completion done;
    std::unique_ptr<asio::steady_timer> timer;
};

struct ended_session {
    errc code;
    std::string why;
};

} // namespace

struct client::impl {
    explicit impl(asio::any_io_executor ex) : ws(ex) {}

    websocket::stream<beast::tcp_stream> ws;
    beast::flat_buffer read_buffer;

    // Owned by the I/O thread.
    std::unordered_map<std::uint64_t, pending_call> pending;
    std::deque<std::string> write_queue;
    bool writing = false;
    std::uint64_t next_id = 0;

    // Shared with callers on other threads.
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::shared_ptr<subscriber>>> subscribers;
    // Sessions of live pages (track_target .. forget_session); bounded by the open pages, so an
    // ended session is remembered only while its page object exists.
    struct session_info {
        std::string target_id;
        std::optional<ended_session> ended;
    };
    std::unordered_map<std::string, session_info> sessions;
    std::uint64_t next_subscriber = 0;
    std::string close_reason;

    // Counters, written on the I/O thread and read by stats() from anywhere.
    std::atomic<std::uint64_t> commands{0}, replies{0}, late_replies{0}, events{0}, malformed{0},
        timeouts{0};
    std::atomic<std::size_t> pending_count{0};
    std::size_t subscription_count = 0; // under mutex
};

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

client::~client() = default;

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
        ws.read_message_max(512ULL * 1024 * 1024); // screenshots and big evaluations
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

    // The reader: one async_read in flight for the life of the socket.
    struct reader {
        std::shared_ptr<client> self;
        void operator()(beast::error_code ec, std::size_t) const {
            auto& im = *self->impl_;
            if (ec) {
                self->close(ec == websocket::error::closed
                                ? "DevTools websocket closed by the browser"
                                : "DevTools websocket read failed: " + ec.message());
                return;
            }
            const auto data = im.read_buffer.cdata();
            const std::string_view text(static_cast<const char*>(data.data()), data.size());
            self->on_message(text);
            im.read_buffer.consume(im.read_buffer.size());
            if (self->open_) im.ws.async_read(im.read_buffer, *this);
        }
    };
    asio::dispatch(executor, [c] { c->impl_->ws.async_read(c->impl_->read_buffer, reader{c}); });
    return c;
}

// ---- commands -------------------------------------------------------------------------------

void client::start_call(std::string method, json params, std::string session, milliseconds timeout,
                        detail::completion done) {
    if (!open_) {
        // Fail without touching the I/O thread, which may have stopped for good.
        done.fail(make_error(errc::browser_closed, method + ": " + close_reason()));
        return;
    }
    asio::dispatch(executor_, [self = shared_from_this(), method = std::move(method),
                               params = std::move(params), session = std::move(session), timeout,
                               done = std::move(done)]() mutable {
        self->do_call(std::move(method), std::move(params), std::move(session), timeout,
                      std::move(done));
    });
}

void client::do_call(std::string method, json params, std::string session, milliseconds timeout,
                     detail::completion done) {
    auto& im = *impl_;
    if (!open_) {
        done.fail(make_error(errc::browser_closed, method + ": " + close_reason()));
        return;
    }
    if (!session.empty()) {
        std::lock_guard lock(im.mutex);
        if (auto it = im.sessions.find(session); it != im.sessions.end() && it->second.ended) {
            done.fail(make_error(it->second.ended->code, method + ": " + it->second.ended->why));
            return;
        }
    }
    const std::uint64_t id = ++im.next_id;
    json message = json::object();
    message["id"] = id;
    message["method"] = method;
    message["params"] = params.is_null() ? json::object() : std::move(params);
    if (!session.empty()) message["sessionId"] = session;

    pending_call call{std::move(method), std::move(session), std::move(done),
                      std::make_unique<asio::steady_timer>(executor_, timeout)};
    call.timer->async_wait([weak = weak_from_this(), id, timeout](beast::error_code ec) {
        if (ec) return;
        if (auto self = weak.lock()) self->on_timeout(id, timeout);
    });
    im.pending.emplace(id, std::move(call));
    im.write_queue.push_back(message.dump());
    ++im.commands;
    im.pending_count = im.pending.size();
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
    auto& im = *impl_;
    auto it = im.pending.find(id);
    if (it == im.pending.end()) return;
    auto call = std::move(it->second);
    im.pending.erase(it);
    im.pending_count = im.pending.size();
    ++im.timeouts;
    call.done.fail(make_error(errc::timeout, call.method + ": no reply within " +
                                                 std::to_string(timeout.count()) + " ms"));
}

// ---- incoming -------------------------------------------------------------------------------

void client::on_message(std::string_view text) {
    auto& im = *impl_;
    auto message = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (message.is_discarded() || !message.is_object()) {
        ++im.malformed;
        spdlog::warn("cdp: dropped a message that is not a JSON object ({} bytes): {:.120}",
                     text.size(), text);
        return;
    }
    if (auto id_it = message.find("id"); id_it != message.end()) {
        if (!id_it->is_number_unsigned()) {
            ++im.malformed;
            spdlog::warn("cdp: dropped a reply with a non-numeric id: {:.120}", text);
            return;
        }
        auto it = im.pending.find(id_it->get<std::uint64_t>());
        if (it == im.pending.end()) {
            ++im.late_replies;
            return;
        }
        auto call = std::move(it->second);
        im.pending.erase(it);
        im.pending_count = im.pending.size();
        call.timer->cancel();
        ++im.replies;
        if (auto err = message.find("error"); err != message.end()) {
            std::string what = call.method + ": ";
            if (err->is_object()) {
                what += err->value("message", std::string("error without message"));
                if (err->contains("code")) what += " (code " + (*err)["code"].dump() + ")";
                if (auto data = err->find("data"); data != err->end() && data->is_string()) {
                    what += ": " + data->get<std::string>();
                }
            } else {
                what += err->dump();
            }
            call.done.fail(make_error(errc::protocol_error, std::move(what)));
            return;
        }
        auto result = message.find("result");
        call.done.succeed(result != message.end() ? std::move(*result) : json::object());
        return;
    }
    auto method_it = message.find("method");
    if (method_it == message.end() || !method_it->is_string()) {
        ++im.malformed;
        spdlog::warn("cdp: dropped a message with neither id nor method: {:.120}", text);
        return;
    }
    ++im.events;
    const std::string& method = method_it->get_ref<const std::string&>();
    const auto session_it = message.find("sessionId");
    const std::string session = session_it != message.end() && session_it->is_string()
                                    ? session_it->get<std::string>()
                                    : "";
    static const json empty = json::object();
    auto params_it = message.find("params");
    const json& params = params_it != message.end() && params_it->is_object() ? *params_it : empty;

    dispatch_event(session, method, params);

    // Lifecycle events end sessions after their subscribers have seen them.
    if (method == "Target.detachedFromTarget") {
        const std::string ended = params.value("sessionId", std::string());
        if (!ended.empty())
            end_session(ended, errc::target_closed, "target detached (page closed)");
    } else if (method == "Inspector.targetCrashed" && !session.empty()) {
        end_session(session, errc::target_crashed, "renderer crashed");
    } else if (method == "Target.targetCrashed") {
        std::string crashed;
        {
            std::lock_guard lock(im.mutex);
            const std::string target = params.value("targetId", std::string());
            for (const auto& [sid, info] : im.sessions) {
                if (info.target_id == target) crashed = sid;
            }
        }
        if (!crashed.empty()) {
            end_session(crashed, errc::target_crashed,
                        "renderer crashed (status " + params.value("status", std::string("?")) +
                            ", error code " + std::to_string(params.value("errorCode", 0)) + ")");
        }
    }
}

void client::dispatch_event(const std::string& session, const std::string& method,
                            const json& params) {
    auto& im = *impl_;
    std::vector<std::shared_ptr<subscriber>> matched;
    {
        std::lock_guard lock(im.mutex);
        auto it = im.subscribers.find(session);
        if (it == im.subscribers.end()) return;
        for (const auto& s : it->second) {
            if (s->method == method) matched.push_back(s);
        }
    }
    for (const auto& s : matched) {
        if (s->active && s->handlers.on_event) s->handlers.on_event(params);
    }
}

// ---- sessions and subscriptions -------------------------------------------------------------

subscription client::subscribe(const std::string& session_id, std::string method,
                               event_handlers handlers) {
    auto& im = *impl_;
    auto s = std::make_shared<subscriber>();
    s->method = std::move(method);
    s->handlers = std::move(handlers);
    std::optional<error> already;
    {
        std::lock_guard lock(im.mutex);
        s->id = ++im.next_subscriber;
        if (!open_ && !im.close_reason.empty()) {
            already.emplace(errc::browser_closed, im.close_reason);
        } else if (auto it = im.sessions.find(session_id);
                   it != im.sessions.end() && it->second.ended) {
            already.emplace(it->second.ended->code, it->second.ended->why);
        } else {
            im.subscribers[session_id].push_back(s);
            ++im.subscription_count;
        }
    }
    if (already) {
        if (s->handlers.on_close) s->handlers.on_close(*already);
        return {};
    }
    return subscription(weak_from_this(), session_id, s->id);
}

void client::unsubscribe(const std::string& session, std::uint64_t id) {
    auto& im = *impl_;
    std::lock_guard lock(im.mutex);
    auto it = im.subscribers.find(session);
    if (it == im.subscribers.end()) return;
    auto& list = it->second;
    for (auto s = list.begin(); s != list.end(); ++s) {
        if ((*s)->id == id) {
            (*s)->active = false;
            list.erase(s);
            --im.subscription_count;
            break;
        }
    }
    if (list.empty()) im.subscribers.erase(it);
}

void client::track_target(const std::string& target_id, const std::string& session_id) {
    std::lock_guard lock(impl_->mutex);
    impl_->sessions[session_id].target_id = target_id;
}

void client::forget_session(const std::string& session_id) {
    auto& im = *impl_;
    std::lock_guard lock(im.mutex);
    im.sessions.erase(session_id);
    if (auto it = im.subscribers.find(session_id); it != im.subscribers.end()) {
        for (auto& s : it->second) s->active = false;
        im.subscription_count -= it->second.size();
        im.subscribers.erase(it);
    }
}

void client::end_session(const std::string& session_id, errc code, const std::string& why) {
    asio::dispatch(executor_, [self = shared_from_this(), session_id, code, why] {
        auto& im = *self->impl_;
        std::vector<std::shared_ptr<subscriber>> dropped;
        {
            std::lock_guard lock(im.mutex);
            if (auto it = im.sessions.find(session_id); it != im.sessions.end()) {
                if (it->second.ended) return;
                it->second.ended = ended_session{code, why};
            }
            if (auto it = im.subscribers.find(session_id); it != im.subscribers.end()) {
                dropped = std::move(it->second);
                im.subscribers.erase(it);
                im.subscription_count -= dropped.size();
            }
        }
        std::vector<pending_call> failed;
        for (auto it = im.pending.begin(); it != im.pending.end();) {
            if (it->second.session == session_id) {
                failed.push_back(std::move(it->second));
                it = im.pending.erase(it);
            } else {
                ++it;
            }
        }
        im.pending_count = im.pending.size();
        for (auto& call : failed) {
            call.timer->cancel();
            call.done.fail(make_error(code, call.method + ": " + why));
        }
        const error reason(code, why);
        for (auto& s : dropped) {
            if (s->active.exchange(false) && s->handlers.on_close) s->handlers.on_close(reason);
        }
    });
}

void client::close(const std::string& why) {
    asio::dispatch(executor_, [self = shared_from_this(), why] {
        auto& im = *self->impl_;
        std::unordered_map<std::string, std::vector<std::shared_ptr<subscriber>>> dropped;
        {
            std::lock_guard lock(im.mutex);
            if (!im.close_reason.empty()) return;
            im.close_reason = why;
            self->open_ = false;
            dropped.swap(im.subscribers);
            im.subscription_count = 0;
        }
        auto pending = std::move(im.pending);
        im.pending.clear();
        im.pending_count = 0;
        if (!pending.empty()) {
            std::string methods;
            for (const auto& [id, call] : pending) {
                if (methods.size() < 300) methods += " " + call.method + "#" + std::to_string(id);
            }
            spdlog::info("cdp: closing ({}) with {} command(s) in flight:{}", why, pending.size(),
                         methods);
        }
        for (auto& [id, call] : pending) {
            call.timer->cancel();
            call.done.fail(make_error(errc::browser_closed, call.method + ": " + why));
        }
        const error reason(errc::browser_closed, why);
        for (auto& [session, list] : dropped) {
            for (auto& s : list) {
                if (s->active.exchange(false) && s->handlers.on_close) s->handlers.on_close(reason);
            }
        }
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
    s.pending = im.pending_count;
    std::lock_guard lock(im.mutex);
    s.subscriptions = im.subscription_count;
    return s;
}

} // namespace rotor::cdp

#include "app/heartbeat_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace rotor::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct heartbeat_server::state {
    heartbeat_options options;
    heartbeat_routes routes;
    std::atomic<std::size_t> connections{0};
};

namespace {

http_answer answer_for(const heartbeat_server::state& s,
                       const http::request<http::string_body>& req) {
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    const std::function<http_answer()>* route = nullptr;
    if (path == "/healthz") route = &s.routes.healthz;
    if (path == "/readyz") route = &s.routes.readyz;
    if (path == "/metrics") route = &s.routes.metrics;
    if (route == nullptr || !*route) {
        return {404, "application/json",
                R"j({"error":"no such path (try /healthz, /readyz, /metrics)"})j"};
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        return {405, "application/json", R"({"error":"only GET"})"};
    }
    try {
        return (*route)();
    } catch (const std::exception& e) {
        return {500, "text/plain", std::string("the route failed: ") + e.what() + "\n"};
    }
}

asio::awaitable<void> serve(tcp::socket socket, std::shared_ptr<heartbeat_server::state> s) {
    struct counted {
        heartbeat_server::state& s;
        ~counted() { --s.connections; }
    } count{*s};
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(s->options.max_request_bytes);
    bool too_large = false;
    try {
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(s->options.max_request_bytes));
            parser.body_limit(s->options.max_request_bytes);
            stream.expires_after(s->options.request_timeout);
            co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
            const auto& req = parser.get();
            const auto a = answer_for(*s, req);
            http::response<http::string_body> res{static_cast<http::status>(a.status),
                                                  req.version()};
            res.set(http::field::content_type, a.content_type);
            res.set(http::field::cache_control, "no-store");
            if (a.status == 405) res.set(http::field::allow, "GET, HEAD");
            res.keep_alive(req.keep_alive());
            res.body() = req.method() == http::verb::head ? std::string() : a.body;
            res.prepare_payload();
            if (req.method() == http::verb::head) {
                res.content_length(a.body.size());
            }
            co_await http::async_write(stream, res, asio::use_awaitable);
            if (!res.keep_alive()) break;
        }
    } catch (const boost::system::system_error& e) {
        too_large = e.code() == http::error::header_limit || e.code() == http::error::body_limit ||
                    e.code() == http::error::buffer_overflow;
    }
    if (too_large) {
        // A request over the limits gets its status before the connection is closed; written
        // asynchronously with a deadline, so a peer that reads nothing cannot hold the thread.
        http::response<http::string_body> res{http::status::payload_too_large, 11};
        res.set(http::field::content_type, "text/plain");
        res.body() = "request too large\n";
        res.keep_alive(false);
        res.prepare_payload();
        stream.expires_after(std::chrono::seconds(1));
        try {
            co_await http::async_write(stream, res, asio::use_awaitable);
        } catch (const boost::system::system_error&) {
        }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor,
                                  std::shared_ptr<heartbeat_server::state> s) {
    for (;;) {
        tcp::socket socket(acceptor->get_executor());
        boost::system::error_code ec;
        co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
        if (ec) {
            // Out of descriptors or buffers: the endpoint must not die of it. Wait, try again.
            asio::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        if (s->connections.load() >= s->options.max_connections) {
            beast::error_code ignored;
            socket.close(ignored); // bounded: a flood of idle connections cannot pin memory
            continue;
        }
        ++s->connections;
        asio::co_spawn(acceptor->get_executor(), serve(std::move(socket), s), asio::detached);
    }
}

std::string escape_label(const std::string& v) {
    std::string out;
    for (const char c : v) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

} // namespace

heartbeat_server::heartbeat_server(heartbeat_options options, heartbeat_routes routes)
    : state_(std::make_shared<state>()) {
    state_->options = std::move(options);
    state_->routes = std::move(routes);
    auto acceptor = std::make_shared<tcp::acceptor>(io_);
    const std::string where = state_->options.bind + ":" + std::to_string(state_->options.port);
    try {
        const tcp::endpoint endpoint(asio::ip::make_address(state_->options.bind),
                                     state_->options.port);
        acceptor->open(endpoint.protocol());
        acceptor->set_option(asio::socket_base::reuse_address(true));
        acceptor->bind(endpoint);
        acceptor->listen(asio::socket_base::max_listen_connections);
    } catch (const std::exception& e) {
        throw std::runtime_error("heartbeat: cannot listen on " + where + ": " + e.what());
    }
    port_ = acceptor->local_endpoint().port();
    asio::co_spawn(
        io_,
        [acceptor, s = state_]() -> asio::awaitable<void> {
            try {
                co_await accept_loop(acceptor, s);
            } catch (const boost::system::system_error&) {
                // The acceptor closed: the server stops.
            }
        },
        asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

heartbeat_server::~heartbeat_server() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

metrics_text& metrics_text::family(const std::string& name, const std::string& type,
                                   const std::string& help) {
    text_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    return *this;
}

metrics_text& metrics_text::sample(const std::string& name,
                                   const std::vector<std::pair<std::string, std::string>>& labels,
                                   double value) {
    text_ += name;
    if (!labels.empty()) {
        text_ += "{";
        for (std::size_t i = 0; i < labels.size(); ++i) {
            text_ +=
                (i ? "," : "") + labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
        }
        text_ += "}";
    }
    char number[64];
    if (std::isnan(value)) {
        text_ += " NaN\n";
        return *this;
    }
    if (std::isinf(value)) {
        text_ += value > 0 ? " +Inf\n" : " -Inf\n";
        return *this;
    }
    if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
        std::snprintf(number, sizeof number, " %.0f\n", value);
    } else {
        std::snprintf(number, sizeof number, " %.17g\n", value);
    }
    text_ += number;
    return *this;
}

} // namespace rotor::app

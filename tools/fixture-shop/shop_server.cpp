#include "shop_server.hpp"

#include "catalog.hpp"
#include "pages.hpp"
#include "probe_routes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>

namespace rotor::fixture {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

constexpr std::uint64_t max_many_resources = 5000;

struct routed {
    std::string route; // stats bucket
    response res;
    int delay_ms = 0;  // wait before answering (slow products)
    bool hang = false; // never answer
};

std::optional<std::uint64_t> parse_id(std::string_view text) {
    std::uint64_t id = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return id;
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

response make_response(const request& req, http::status status, std::string body,
                       std::string_view content_type) {
    response res{status, req.version()};
    res.set(http::field::server, "rotor-fixture-shop");
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

response too_many(const request& req) {
    auto res = make_response(req, http::status::too_many_requests, R"({"error":"rate limited"})",
                             "application/json");
    res.set(http::field::retry_after, "1");
    return res;
}

http::status status_for(product_kind kind) {
    switch (kind) {
    case product_kind::not_found:
        return http::status::not_found;
    case product_kind::gone:
        return http::status::gone;
    case product_kind::server_error:
        return http::status::internal_server_error;
    default:
        return http::status::ok;
    }
}

int delay_for(const product& p) {
    return p.kind == product_kind::slow ? slow_delay_ms(p.id) : 0;
}

routed product_page(const request& req, std::uint64_t id, std::string_view query) {
    const product p = product_for(id);
    if (p.kind == product_kind::redirect_chain &&
        query.find("from=redirect") == std::string_view::npos) {
        auto res = make_response(req, http::status::found, "", "text/plain");
        res.set(http::field::location, "/redirect/" + std::to_string(id) + "/1");
        return {"product", std::move(res)};
    }
    const auto status = status_for(p.kind);
    std::string body = status == http::status::ok ? product_page_html(p)
                                                  : error_page_html(id, static_cast<int>(status));
    return {"product", make_response(req, status, std::move(body), "text/html; charset=utf-8"),
            delay_for(p)};
}

routed api_product(const request& req, std::uint64_t id) {
    const product p = product_for(id);
    const auto status = status_for(p.kind);
    nlohmann::json body =
        status == http::status::ok
            ? product_json(p)
            : nlohmann::json{{"error", std::string(http::obsolete_reason(status))},
                             {"id", std::to_string(id)}};
    return {"api", make_response(req, status, body.dump(), "application/json"), delay_for(p)};
}

// A minimal GraphQL endpoint: `query { product(id: ID) { ...fields } }` with the id given
// in variables.id; only the fields named in the query text come back.
routed graphql(const request& req) {
    auto fail = [&](http::status status, const std::string& message) {
        nlohmann::json body = {{"errors", {{{"message", message}}}}, {"data", nullptr}};
        return routed{"graphql", make_response(req, status, body.dump(), "application/json")};
    };
    if (req.method() != http::verb::post)
        return fail(http::status::method_not_allowed, "POST only");
    auto doc = nlohmann::json::parse(req.body(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("query") ||
        !doc["query"].is_string()) {
        return fail(http::status::bad_request, "body must be JSON with a string `query`");
    }
    const std::string query = doc["query"].get<std::string>();
    if (query.find("product") == std::string::npos) {
        return fail(http::status::bad_request, "only the `product` query is served");
    }
    std::optional<std::uint64_t> id;
    if (doc.contains("variables") && doc["variables"].is_object() &&
        doc["variables"].contains("id")) {
        const auto& v = doc["variables"]["id"];
        if (v.is_string()) id = parse_id(v.get<std::string>());
        if (v.is_number_unsigned()) id = v.get<std::uint64_t>();
    }
    if (!id) return fail(http::status::bad_request, "variables.id must be a product id");
    const product p = product_for(*id);
    const auto status = status_for(p.kind);
    if (status == http::status::internal_server_error) {
        return fail(status, "internal error for product " + std::to_string(*id));
    }
    nlohmann::json data;
    if (status != http::status::ok) {
        nlohmann::json body = {
            {"data", {{"product", nullptr}}},
            {"errors", {{{"message", "product " + std::to_string(*id) + " not found"}}}}};
        return {"graphql", make_response(req, http::status::ok, body.dump(), "application/json"),
                delay_for(p)};
    }
    const nlohmann::json full = product_json(p);
    nlohmann::json selected = nlohmann::json::object();
    for (const auto& [key, value] : full.items()) {
        if (query.find(key) != std::string::npos) selected[key] = value;
    }
    nlohmann::json body = {{"data", {{"product", selected}}}};
    return {"graphql", make_response(req, http::status::ok, body.dump(), "application/json"),
            delay_for(p)};
}

routed route(const request& req, shop_stats& stats) {
    const std::string_view target = req.target();
    const auto qpos = target.find('?');
    const std::string_view path = target.substr(0, qpos);
    const std::string_view query = qpos == std::string_view::npos ? "" : target.substr(qpos + 1);

    const bool product_route =
        starts_with(path, "/product/") || starts_with(path, "/api/products/") || path == "/graphql";
    if (product_route && !stats.admit_product_request()) {
        return {starts_with(path, "/product/") ? "product"
                : path == "/graphql"           ? "graphql"
                                               : "api",
                too_many(req)};
    }
    if (starts_with(path, "/product/")) {
        if (auto id = parse_id(path.substr(9))) return product_page(req, *id, query);
    } else if (starts_with(path, "/api/products/")) {
        if (auto id = parse_id(path.substr(14))) return api_product(req, *id);
    } else if (path == "/graphql") {
        return graphql(req);
    } else if (starts_with(path, "/redirect/")) {
        // /redirect/{id}/{hop}
        const auto rest = path.substr(10);
        const auto slash = rest.find('/');
        auto id = parse_id(rest.substr(0, slash));
        auto hop =
            slash == std::string_view::npos ? std::nullopt : parse_id(rest.substr(slash + 1));
        if (id && hop) {
            auto res = make_response(req, http::status::found, "", "text/plain");
            res.set(http::field::location,
                    *hop >= static_cast<std::uint64_t>(redirect_hops)
                        ? "/product/" + std::to_string(*id) + "?from=redirect"
                        : "/redirect/" + std::to_string(*id) + "/" + std::to_string(*hop + 1));
            return {"redirect", std::move(res)};
        }
    } else if (path == "/static/shop.css") {
        return {"stylesheet", make_response(req, http::status::ok, stylesheet_css(), "text/css")};
    } else if (path == "/static/shop-font.woff2") {
        return {"font", make_response(req, http::status::ok, font_bytes(), "font/woff2")};
    } else if (starts_with(path, "/img/")) {
        const auto rest = path.substr(5);
        const auto slash = rest.find('/');
        auto id = parse_id(rest.substr(0, slash));
        if (id && slash != std::string_view::npos) {
            const auto file = rest.substr(slash + 1);
            auto n = parse_id(file.substr(0, file.find('.')));
            return {"image", make_response(req, http::status::ok,
                                           image_svg(*id, static_cast<int>(n.value_or(0))),
                                           "image/svg+xml")};
        }
    } else if (starts_with(path, "/many/")) {
        // /many/{n}: n tiny images, at most max_many_resources.
        if (auto n = parse_id(path.substr(6)); n && *n <= max_many_resources) {
            return {"many",
                    make_response(req, http::status::ok, many_resources_html(static_cast<int>(*n)),
                                  "text/html; charset=utf-8")};
        }
    } else if (starts_with(path, "/dot/")) {
        return {"dot", make_response(req, http::status::ok, dot_gif(), "image/gif")};
    } else if (starts_with(path, "/spin-started/")) {
        return {"spin_started", make_response(req, http::status::no_content, "", "text/plain")};
    } else if (starts_with(path, "/hang/")) {
        return {"hang", response{}, 0, true};
    } else if (path == "/echo/headers") {
        // The request's headers as JSON (lower-case names), for header/user-agent checks.
        nlohmann::json headers = nlohmann::json::object();
        for (const auto& field : req) {
            std::string name(field.name_string());
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            headers[name] = std::string(field.value());
        }
        return {"echo", make_response(req, http::status::ok, headers.dump(), "application/json")};
    } else if (auto probe = probe_route(path, query)) {
        auto res = make_response(req, static_cast<http::status>(probe->status),
                                 std::move(probe->body), probe->content_type);
        if (!probe->location.empty()) res.set(http::field::location, probe->location);
        return {std::move(probe->route), std::move(res)};
    } else if (path == "/" || path == "/health") {
        return {"health", make_response(req, http::status::ok, "fixture shop\n", "text/plain")};
    }
    return {"other", make_response(req, http::status::not_found, "no such route\n", "text/plain")};
}

asio::awaitable<void> serve(tcp::socket socket, std::shared_ptr<shop_stats> stats) {
    stats->connection_opened();
    struct closer {
        shop_stats& s;
        ~closer() { s.connection_closed(); }
    } on_exit{*stats};
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    try {
        for (;;) {
            request req;
            stream.expires_after(std::chrono::seconds(120));
            co_await http::async_read(stream, buffer, req, asio::use_awaitable);
            stream.expires_never();
            const std::string_view target = req.target();
            if (target == "/__stats" || target == "/__reset") {
                if (target == "/__reset") stats->reset();
                auto res = make_response(req, http::status::ok, stats->to_json().dump(),
                                         "application/json");
                co_await http::async_write(stream, res, asio::use_awaitable);
                if (!req.keep_alive()) break;
                continue;
            }
            routed r = route(req, *stats);
            if (r.hang) {
                stats->record(r.route, 0);
                asio::steady_timer forever(stream.get_executor(), std::chrono::minutes(10));
                co_await forever.async_wait(asio::use_awaitable);
                break;
            }
            if (r.delay_ms > 0) {
                asio::steady_timer delay(stream.get_executor(),
                                         std::chrono::milliseconds(r.delay_ms));
                co_await delay.async_wait(asio::use_awaitable);
            }
            stats->record(r.route, static_cast<int>(r.res.result_int()));
            const bool keep_alive = r.res.keep_alive();
            co_await http::async_write(stream, r.res, asio::use_awaitable);
            if (!keep_alive) break;
        }
    } catch (const boost::system::system_error&) {
        // The client went away or timed out: nothing to answer.
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<shop_stats> stats) {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), stats), asio::detached);
    }
}

} // namespace

shop_server::shop_server(shop_options options)
    : options_(std::move(options)), stats_(std::make_shared<shop_stats>(options_.max_rps)) {
    auto acceptor = std::make_shared<tcp::acceptor>(io_);
    const tcp::endpoint endpoint(asio::ip::make_address(options_.address), options_.port);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->bind(endpoint);
    acceptor->listen(asio::socket_base::max_listen_connections);
    port_ = acceptor->local_endpoint().port();
    asio::co_spawn(
        io_,
        [acceptor, stats = stats_]() -> asio::awaitable<void> {
            try {
                co_await accept_loop(*acceptor, stats);
            } catch (const boost::system::system_error&) {
                // Acceptor closed by stop().
            }
        },
        asio::detached);
    const int threads = std::max(1, options_.threads);
    for (int i = 0; i < threads; ++i) {
        threads_.emplace_back([this] { io_.run(); });
    }
}

shop_server::~shop_server() {
    stop();
}

std::string shop_server::base_url() const {
    return "http://" + options_.address + ":" + std::to_string(port_);
}

void shop_server::stop() {
    io_.stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

} // namespace rotor::fixture

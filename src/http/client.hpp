#pragma once
// An HTTP client for the api_fetch node: libcurl's multi interface driven by one Asio thread
// (its sockets and timer are Asio objects; no thread per request). Connections, TLS sessions and
// DNS answers are reused across requests; HTTP/2 is negotiated where the server offers it
// (ALPN). Before any connection is opened, the address the host resolved to is shown to the
// client's address guard, which may refuse it (a public name that resolves to a metadata or
// private address). The environment's proxy variables are ignored: a proxy is set explicitly.

#include "http/errors.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rotor::http {

using std::chrono::milliseconds;

struct request {
    std::string method = "GET"; // GET, POST, PUT, PATCH, DELETE, HEAD
    std::string url;            // http:// or https:// only
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;                       // sent for POST, PUT and PATCH
    milliseconds timeout{30000};            // the whole transfer, connection included
    milliseconds connect_timeout{10000};    // the connection alone
    std::size_t max_body = 8 * 1024 * 1024; // a larger body fails the transfer (too_large)
};

struct response {
    int status = 0;
    std::string body;         // decoded (gzip, br, deflate are accepted)
    std::string content_type; // "" when the server sent none
    std::string redirect_url; // a 3xx's Location, resolved against the URL ("" otherwise)
    std::string address;      // the peer's IP address
    int http_version = 0;     // 1 (1.0 and 1.1), 2 or 3
    bool reused_connection = false;
    milliseconds elapsed{0};
};

/// Decides whether a connection to `address` (numeric, no port) may be opened for `url`: ""
/// allows it, anything else is the reason it is refused. Called on the client's thread.
using address_guard = std::function<std::string(std::string_view url, std::string_view address)>;

struct client_options {
    address_guard guard; // null: every address
    std::string user_agent = "rotor/0.1";
    long max_host_connections = 0;    // per host at once; 0: no limit (requests queue above)
    long max_total_connections = 0;   // 0: no limit
    std::string proxy;                // "" : none ("http://host:port", "socks5h://...")
    std::vector<std::string> resolve; // "host:port:address" pins (tests, DNS pinning)
};

struct client_stats {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> connections_opened{0};
    std::atomic<std::uint64_t> refused{0}; // connections the guard refused
    std::atomic<std::uint64_t> reused{0};  // requests served on an existing connection
};

class client {
  public:
    /// Starts the client's thread. Throws std::runtime_error when libcurl cannot start.
    explicit client(client_options options = {});
    /// Transfers still in flight are abandoned: their awaiting coroutines never resume, so
    /// destroy the client only after every fetch returned.
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Runs one transfer and resumes on the caller's executor. An HTTP status is a response,
    /// whatever it is; throws http::error when there is none (timeout, refused address or
    /// scheme, no connection, a broken transfer, a body over max_body). Thread-safe.
    boost::asio::awaitable<response> fetch(request r);

    const client_stats& stats() const noexcept;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace rotor::http

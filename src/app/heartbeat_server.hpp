#pragma once
// The worker's heartbeat endpoint for the restarter, Docker HEALTHCHECK and Kubernetes probes:
// a read-only Boost.Beast HTTP server on its own thread. GET /healthz, /readyz and /metrics are
// answered by the routes given; any other path is 404, any other method 405. Requests are
// bounded in size (headers and body) and in time, and so is the number of connections.

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace rotor::app {

struct http_answer {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

struct heartbeat_routes {
    // Called on the server's thread: each must be thread-safe and quick (no Redis, no waits).
    std::function<http_answer()> healthz;
    std::function<http_answer()> readyz;
    std::function<http_answer()> metrics;
};

struct heartbeat_options {
    std::string bind = "127.0.0.1";           // 0.0.0.0 in a container
    unsigned short port = 8080;               // 0: any free port (see port())
    std::size_t max_request_bytes = 8 * 1024; // headers and body together
    std::chrono::milliseconds request_timeout{5000};
    std::size_t max_connections = 32; // more are closed at once
};

class heartbeat_server {
  public:
    /// Binds and starts serving. Throws std::runtime_error naming the address when it cannot.
    heartbeat_server(heartbeat_options options, heartbeat_routes routes);
    ~heartbeat_server();
    heartbeat_server(const heartbeat_server&) = delete;
    heartbeat_server& operator=(const heartbeat_server&) = delete;

    unsigned short port() const noexcept { return port_; }

    struct state;

  private:
    boost::asio::io_context io_;
    std::shared_ptr<state> state_;
    unsigned short port_ = 0;
    std::thread thread_;
};

/// Prometheus text exposition (format 0.0.4), written one family at a time.
class metrics_text {
  public:
    /// `type`: counter or gauge. Names follow Prometheus conventions (rotor_items_total).
    metrics_text& family(const std::string& name, const std::string& type, const std::string& help);
    /// A sample of the last family; labels as {"name", "value"} pairs, values escaped here.
    metrics_text& sample(const std::string& name,
                         const std::vector<std::pair<std::string, std::string>>& labels,
                         double value);
    const std::string& text() const noexcept { return text_; }

  private:
    std::string text_;
};

} // namespace rotor::app

#pragma once
// The fixture shop: a Boost.Beast HTTP server on 127.0.0.1 that every test, demo and benchmark
// scrapes. Start it in-process (tests) or through the `fixture-shop` binary (demo, benchmarks).

#include "shop_stats.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace rotor::fixture {

struct shop_options {
    std::string address = "127.0.0.1"; // loopback only: DevTools and the shop never leave the host
    unsigned short port = 0;           // 0 picks a free port; port() tells which
    double max_rps = 0;                // product requests per second before 429 (0 = no limit)
    int threads = 2;                   // I/O threads serving connections
};

class shop_server {
  public:
    /// Binds and starts serving at once. Throws boost::system::system_error when the address or
    /// port cannot be bound.
    explicit shop_server(shop_options options = {});
    ~shop_server();
    shop_server(const shop_server&) = delete;
    shop_server& operator=(const shop_server&) = delete;

    unsigned short port() const { return port_; }
    /// "http://127.0.0.1:PORT"
    std::string base_url() const;
    nlohmann::json stats() const { return stats_->to_json(); }
    void reset_stats() { stats_->reset(); }
    /// Stops accepting, drops every connection (including hanging ones) and joins the threads.
    void stop();

  private:
    shop_options options_;
    std::shared_ptr<shop_stats> stats_;
    boost::asio::io_context io_;
    unsigned short port_ = 0;
    std::vector<std::thread> threads_;
};

} // namespace rotor::fixture

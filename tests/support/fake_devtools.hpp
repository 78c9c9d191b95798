#pragma once
// A DevTools peer on 127.0.0.1 for client tests that need no browser: every command gets
// {"id": N, "result": reply(command)}. Serves one connection at a time on its own thread.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <thread>

namespace rotor::test {

class fake_devtools_peer {
  public:
    using reply_fn = std::function<nlohmann::json(const nlohmann::json& command)>;
    /// `reply` builds each result (an empty object by default); it runs on the peer's thread.
    explicit fake_devtools_peer(reply_fn reply = {});
    /// Stops serving and drops the connection.
    ~fake_devtools_peer();
    fake_devtools_peer(const fake_devtools_peer&) = delete;
    fake_devtools_peer& operator=(const fake_devtools_peer&) = delete;

    unsigned short port() const { return port_; }

  private:
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    reply_fn reply_;
    unsigned short port_ = 0;
    std::thread thread_;
};

} // namespace rotor::test

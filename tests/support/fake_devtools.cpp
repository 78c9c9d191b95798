#include "fake_devtools.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace rotor::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> serve(tcp::socket socket, fake_devtools_peer::reply_fn reply) {
    beast::websocket::stream<tcp::socket> ws(std::move(socket));
    ws.read_message_max(0);
    co_await ws.async_accept(asio::use_awaitable);
    for (;;) {
        beast::flat_buffer buffer;
        co_await ws.async_read(buffer, asio::use_awaitable);
        const auto command = nlohmann::json::parse(beast::buffers_to_string(buffer.data()));
        nlohmann::json answer = {{"id", command["id"]}};
        answer["result"] = reply ? reply(command) : nlohmann::json::object();
        const std::string text = answer.dump();
        co_await ws.async_write(asio::buffer(text), asio::use_awaitable);
    }
}

} // namespace

fake_devtools_peer::fake_devtools_peer(reply_fn reply)
    : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), reply_(std::move(reply)) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(
        io_,
        [this]() -> asio::awaitable<void> {
            for (;;) {
                tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
                asio::co_spawn(io_, serve(std::move(socket), reply_), asio::detached);
            }
        },
        asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

fake_devtools_peer::~fake_devtools_peer() {
    io_.stop();
    thread_.join();
}

} // namespace rotor::test

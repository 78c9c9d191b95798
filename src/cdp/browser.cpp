#include "cdp/browser.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <future>

namespace rotor::cdp {

namespace asio = boost::asio;
using asio::use_awaitable;

struct browser::exit_watch {
    explicit exit_watch(asio::io_context& io, int fd) : descriptor(io, fd) {}
    asio::posix::stream_descriptor descriptor;
};

browser::browser(browser_options options)
    : options_(std::move(options)), work_(asio::make_work_guard(*io_)), io_thread_([this] {
          // A handler that throws must not end the I/O thread (every page of the browser would
          // hang) nor the process: log it and run on (run() resumes after an exception).
          for (;;) {
              try {
                  io_->run();
                  break;
              } catch (const std::exception& e) {
                  spdlog::error("cdp: a handler on the browser's I/O thread threw: {}", e.what());
              } catch (...) {
                  spdlog::error("cdp: a handler on the browser's I/O thread threw");
              }
          }
          io_done_.set_value();
      }) {}

std::unique_ptr<browser> browser::launch(browser_options options) {
    std::unique_ptr<browser> b(new browser(std::move(options)));
    launched_browser launched = launch_chromium(b->options_.launch);
    b->process_ = std::move(launched.process);
    b->port_ = launched.port;
    b->websocket_path_ = launched.websocket_path;
    try {
        b->client_ = client::connect(b->io_, launched.port, launched.websocket_path,
                                     b->options_.connect_timeout);
    } catch (...) {
        b->process_->terminate(milliseconds(0));
        b->closed_ = true;
        b->work_.reset();
        b->io_->stop();
        b->io_thread_.join();
        throw;
    }
    b->client_->set_max_message_bytes(b->options_.max_message_bytes);
    b->watch_exit();
    // Crash events for every target (Target.targetCrashed) and detach events for closed pages.
    b->run([](std::shared_ptr<client> c, milliseconds t) -> asio::awaitable<void> {
        json discover = {{"discover", true}};
        co_await c->async_call("Target.setDiscoverTargets", std::move(discover), "", t,
                               use_awaitable);
    }(b->client_, b->options_.command_timeout));
    return b;
}

void browser::watch_exit() {
    if (process_->exit_fd() < 0) return;
    // Close-on-exec: a later launch must not hand this browser's pidfd to another Chromium.
    const int fd = ::fcntl(process_->exit_fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return;
    exit_watch_ = std::make_unique<exit_watch>(*io_, fd);
    exit_watch_->descriptor.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [c = client_, pid = process_->pid()](boost::system::error_code ec) {
            if (ec) return; // cancelled at close()
            c->close("chromium (pid " + std::to_string(pid) + ") exited");
        });
}

browser::~browser() {
    close();
}

void browser::close() {
    if (closed_) return;
    closed_ = true;
    if (client_ && client_->is_open()) {
        // Ask politely first; a wedged browser gets the signals below.
        auto polite = asio::co_spawn(
            io_->get_executor(),
            [](std::shared_ptr<client> c) -> asio::awaitable<void> {
                co_await c->async_call("Browser.close", json::object(), "", milliseconds(2000),
                                       use_awaitable);
            }(client_),
            asio::use_future);
        if (polite.wait_for(std::chrono::milliseconds(2500)) == std::future_status::ready) {
            try {
                polite.get();
            } catch (const std::exception& e) {
                spdlog::debug("cdp: Browser.close: {}", e.what());
            }
        }
    }
    if (client_) client_->close("browser closed by rotor");
    if (process_) process_->terminate(options_.close_grace);
    if (exit_watch_) {
        asio::post(*io_, [w = exit_watch_.get()] { w->descriptor.close(); });
    }
    work_.reset();
    // Let queued completions (failed calls, the close above) run; a timer that somebody left
    // armed must not hold the thread, so stop after a bound.
    if (io_done_.get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        io_->stop();
    }
    io_thread_.join();
}

asio::awaitable<json> browser::version() {
    co_return co_await client_->async_call("Browser.getVersion", json::object(), "",
                                           options_.command_timeout, use_awaitable);
}

asio::awaitable<std::shared_ptr<browser_context>> browser::new_context() {
    co_return co_await browser_context::create(client_, options_.command_timeout);
}

asio::awaitable<std::shared_ptr<page>> browser::new_page() {
    browser_context default_context(client_, "", options_.command_timeout);
    co_return co_await default_context.new_page();
}

asio::awaitable<json> browser::targets() {
    json reply = co_await client_->async_call("Target.getTargets", json::object(), "",
                                              options_.command_timeout, use_awaitable);
    co_return reply.value("targetInfos", json::array());
}

} // namespace rotor::cdp

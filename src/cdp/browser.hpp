#pragma once
// One Chromium process driven over one DevTools websocket on its own I/O thread.

#include "cdp/browser_context.hpp"
#include "cdp/client.hpp"
#include "cdp/launcher.hpp"
#include "cdp/page.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <cassert>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace rotor::cdp {

struct browser_options {
    launch_options launch;               // executable, flags, profile root, start timeout
    milliseconds connect_timeout{10000}; // websocket handshake
    milliseconds command_timeout{30000}; // default deadline of a command
    milliseconds close_grace{3000};      // Browser.close, then SIGTERM, then SIGKILL
    std::size_t max_message_bytes = client::default_max_message_bytes; // larger replies fail
};

class browser {
  public:
    /// Launches Chromium and connects. Blocking; callable from any thread.
    /// Throws cdp::error (launch_failed, connect_failed).
    static std::unique_ptr<browser> launch(browser_options options = {});
    /// close(); never leaves a process or a profile directory behind.
    ~browser();
    browser(const browser&) = delete;
    browser& operator=(const browser&) = delete;

    boost::asio::any_io_executor get_executor() { return io_->get_executor(); }
    const std::shared_ptr<client>& cdp() const noexcept { return client_; }
    pid_t pid() const noexcept { return process_->pid(); }
    /// Every process of the browser's tree: its process group (browser, zygotes, renderers,
    /// utilities) and its crashpad handlers. For memory accounting.
    std::vector<pid_t> process_ids() const { return process_->all_pids(); }
    /// The process, shared: its pids can be read (all_pids is thread-safe) on another thread
    /// after this browser object is gone.
    std::shared_ptr<const chromium_process> process() const { return process_; }
    /// The DevTools port on 127.0.0.1 and the browser's websocket path, for other clients of the
    /// same browser (benchmarks, debugging).
    unsigned short devtools_port() const noexcept { return port_; }
    const std::string& websocket_path() const noexcept { return websocket_path_; }
    /// The per-launch directory (profile, log); gone after close().
    std::filesystem::path run_dir() const { return process_->run_dir(); }
    /// False once the websocket closed or the process exited.
    bool is_connected() const noexcept { return client_->is_open(); }
    milliseconds command_timeout() const noexcept { return options_.command_timeout; }

    /// Browser.getVersion (product, protocolVersion, userAgent, ...).
    boost::asio::awaitable<json> version();
    boost::asio::awaitable<std::shared_ptr<browser_context>> new_context();
    /// A page in the default context.
    boost::asio::awaitable<std::shared_ptr<page>> new_page();
    /// Target.getTargets' targetInfos (type, url, browserContextId, ...).
    boost::asio::awaitable<json> targets();

    /// Browser.close, then SIGTERM/SIGKILL to the process group after the grace period, reap,
    /// remove the profile. Blocking; idempotent; not from the browser's own I/O thread.
    void close();

    /// Runs `work` on this browser's I/O thread and waits for its result (rethrows its error).
    /// For callers outside any coroutine; must not be called from the I/O thread itself.
    template <typename T> T run(boost::asio::awaitable<T> work) {
        assert(!io_->get_executor().running_in_this_thread());
        return boost::asio::co_spawn(io_->get_executor(), std::move(work), boost::asio::use_future)
            .get();
    }

  private:
    explicit browser(browser_options options);
    void watch_exit();

    browser_options options_;
    // Shared with the client: pages, contexts and waiters that outlive this object keep the
    // (stopped) io_context their timers and sockets were made on.
    std::shared_ptr<boost::asio::io_context> io_ = std::make_shared<boost::asio::io_context>(1);
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::promise<void> io_done_;
    std::thread io_thread_;
    std::shared_ptr<chromium_process> process_;
    std::shared_ptr<client> client_;
    struct exit_watch;
    std::unique_ptr<exit_watch> exit_watch_;
    bool closed_ = false;
    unsigned short port_ = 0;
    std::string websocket_path_;
};

} // namespace rotor::cdp

// What happens to the CDP client when things die: the browser, a renderer, the worker itself,
// or the peer talks nonsense.
#include "browser_fixture.hpp"
#include "temp_dir.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

namespace rotor::test {
namespace {

using cdp::errc;
using cdp::json;
using std::chrono::milliseconds;
namespace asio = boost::asio;
namespace beast = boost::beast;
using clock_type = std::chrono::steady_clock;

std::vector<pid_t> live(const std::vector<pid_t>& pids) {
    std::vector<pid_t> out;
    for (pid_t p : pids) {
        const char s = cdp::process_state(p);
        if (s != 0 && s != 'Z') out.push_back(p);
    }
    return out;
}

TEST_F(BrowserTest, SigkillOfTheBrowserFailsPendingCommandsAtOnce) {
    auto page = await_for(*browser_, browser_->new_page());
    json params = {{"expression", "new Promise(() => {})"}, {"awaitPromise", true}};
    auto pending = browser_->cdp()->async_call("Runtime.evaluate", params, page->session_id(),
                                               milliseconds(30000), asio::use_future);
    std::this_thread::sleep_for(milliseconds(200)); // let the command reach Chromium
    const auto killed_at = clock_type::now();
    ASSERT_EQ(::kill(-pgid_, SIGKILL), 0);
    try {
        pending.get();
        FAIL() << "the pending command succeeded after SIGKILL";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::browser_closed) << e.what();
    }
    EXPECT_LT(clock_type::now() - killed_at, milliseconds(3000));
    EXPECT_FALSE(browser_->is_connected());
    // New commands fail fast too, instead of waiting for their deadline.
    try {
        await_for(*browser_, browser_->version(), milliseconds(3000));
        FAIL() << "a command on a dead browser succeeded";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::browser_closed);
    }
    // TearDown checks that close() leaves no process, zombie or directory behind.
}

TEST_F(BrowserTest, RendererCrashFailsPendingCommandsAtOnce) {
    auto page = await_for(*browser_, browser_->new_page());
    const std::string target = product_url(31);
    await_for(*browser_, page->navigate(target));
    json params = {{"expression", "new Promise(() => {})"}, {"awaitPromise", true}};
    auto pending = browser_->cdp()->async_call("Runtime.evaluate", params, page->session_id(),
                                               milliseconds(30000), asio::use_future);
    std::this_thread::sleep_for(milliseconds(200));
    const auto crashed_at = clock_type::now();
    browser_->cdp()->async_call("Page.crash", json::object(), page->session_id(),
                                milliseconds(5000), [](std::exception_ptr, json) {});
    try {
        pending.get();
        FAIL() << "the pending command succeeded after the renderer crashed";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::target_crashed) << e.what();
    }
    EXPECT_LT(clock_type::now() - crashed_at, milliseconds(3000));
    ASSERT_TRUE(page->ended().has_value());
    EXPECT_EQ(page->ended()->kind(), errc::target_crashed);
    // The browser itself is fine: a new page scrapes normally.
    const int status = await_for(*browser_, [&]() -> asio::awaitable<int> {
        auto fresh = co_await browser_->new_page();
        auto nav = co_await fresh->navigate(target);
        co_await fresh->close();
        co_return nav.status;
    }());
    EXPECT_EQ(status, 200);
    await_for(*browser_, page->close());
}

// A page dropped while its renderer crashes: ~page reads why the page ended while the I/O
// thread records it (the pending call fails just before). A data race before ~page took the
// lock; only a ThreadSanitizer build (-DROTOR_SANITIZE=thread) sees it.
TEST_F(BrowserTest, APageDroppedWhileItsRendererCrashesReadsItsEndUnderTheLock) {
    for (int i = 0; i < 3; ++i) {
        auto page = await_for(*browser_, browser_->new_page());
        json params = {{"expression", "new Promise(() => {})"}, {"awaitPromise", true}};
        auto pending = browser_->cdp()->async_call("Runtime.evaluate", params, page->session_id(),
                                                   milliseconds(30000), asio::use_future);
        browser_->cdp()->async_call("Page.crash", json::object(), page->session_id(),
                                    milliseconds(5000), [](std::exception_ptr, json) {});
        EXPECT_THROW(pending.get(), cdp::error);
        page.reset();
    }
    EXPECT_EQ(await_for(*browser_, browser_->version()).value("product", "").empty(), false);
}

TEST(LauncherFaults, NoChromiumOutlivesAWorkerKilledWithSigkill) {
    temp_dir root("rotor-orphans");
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t helper = ::fork();
    ASSERT_GE(helper, 0);
    if (helper == 0) {
        ::dup2(out[1], 1);
        ::close(out[0]);
        ::execl(ROTOR_ORPHAN_HELPER, ROTOR_ORPHAN_HELPER, root.path().c_str(), nullptr);
        ::_exit(127);
    }
    ::close(out[1]);
    FILE* in = ::fdopen(out[0], "r");
    long pgid = 0;
    char dir[4096] = {0};
    ASSERT_EQ(std::fscanf(in, "%ld %4095s", &pgid, dir), 2) << "helper did not report its browser";
    std::fclose(in);
    const std::filesystem::path run_dir(dir);
    ASSERT_FALSE(live(cdp::process_group_members(static_cast<pid_t>(pgid))).empty());
    ASSERT_TRUE(std::filesystem::exists(run_dir));

    ASSERT_EQ(::kill(helper, SIGKILL), 0);
    ASSERT_EQ(::waitpid(helper, nullptr, 0), helper);

    // PR_SET_PDEATHSIG kills the browser; its children follow. Wait for them, event-driven.
    auto left = cdp::wait_for_exit(cdp::process_group_members(static_cast<pid_t>(pgid)),
                                   milliseconds(10000));
    EXPECT_TRUE(live(left).empty()) << left.size() << " Chromium processes outlived the worker";
    auto crashpad =
        cdp::wait_for_exit(cdp::processes_mentioning(run_dir.string()), milliseconds(10000));
    EXPECT_TRUE(live(crashpad).empty()) << "crashpad handlers outlived the worker";

    // The next launch under the same root removes the dead worker's run directory.
    auto b = cdp::browser::launch(test_browser_options(root.path()));
    EXPECT_FALSE(std::filesystem::exists(run_dir)) << run_dir << " (stale) was not removed";
    b->close();
}

// A scripted DevTools peer: answers every command with garbage first, then the real reply.
class fake_devtools {
  public:
    fake_devtools() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~fake_devtools() {
        io_.stop();
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

  private:
    void serve() {
        try {
            asio::ip::tcp::socket socket(io_);
            acceptor_.accept(socket);
            beast::websocket::stream<asio::ip::tcp::socket> ws(std::move(socket));
            ws.accept();
            for (int n = 0;; ++n) {
                beast::flat_buffer buffer;
                ws.read(buffer);
                const auto command = json::parse(beast::buffers_to_string(buffer.data()));
                const auto id = command["id"];
                auto send = [&](const std::string& text) { ws.write(asio::buffer(text)); };
                if (n == 0) {
                    send("garbage{");
                    send("[1, 2, 3]");
                    send(R"({"id": "abc", "result": {}})");
                    send(R"({"id": 999999, "result": {}})");
                    send(R"({"params": {}})");
                    send(R"({"method": "Some.event", "params": "not an object"})");
                    send(json{{"id", id}, {"result", {{"ok", true}}}}.dump());
                } else if (n == 1) {
                    send(json{{"id", id},
                              {"error", {{"code", -32000}, {"message", "No target with given id"}}}}
                             .dump());
                } else {
                    ws.next_layer().close(); // drop the connection mid-command
                    return;
                }
            }
        } catch (const std::exception&) {
        }
    }

    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
};

TEST(ClientFaults, MalformedMessagesDoNotBreakTheClient) {
    fake_devtools peer;
    auto io = std::make_shared<asio::io_context>();
    auto guard = asio::make_work_guard(*io);
    std::thread runner([io] { io->run(); });
    auto c = cdp::client::connect(io, peer.port(), "/devtools/browser/fake", milliseconds(5000));

    auto first =
        c->async_call("Test.first", json::object(), "", milliseconds(5000), asio::use_future);
    EXPECT_EQ(first.get(), json({{"ok", true}}));
    const auto stats = c->stats();
    EXPECT_GE(stats.malformed, 4u); // garbage, array, string id, no id nor method
    EXPECT_EQ(stats.late_replies, 1u);

    auto second = c->async_call("Target.attachToTarget", json::object(), "", milliseconds(5000),
                                asio::use_future);
    try {
        second.get();
        FAIL() << "an error reply succeeded";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::protocol_error);
        EXPECT_NE(std::string(e.what()).find("Target.attachToTarget: No target with given id"),
                  std::string::npos)
            << e.what();
    }

    auto third =
        c->async_call("Test.third", json::object(), "", milliseconds(5000), asio::use_future);
    try {
        third.get();
        FAIL() << "a command on a dropped socket succeeded";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::browser_closed) << e.what();
    }
    EXPECT_FALSE(c->is_open());
    c->close();
    guard.reset();
    runner.join();
}

TEST(LauncherFaults, AMissingExecutableIsAClearLaunchError) {
    temp_dir root("rotor-missing");
    cdp::launch_options options;
    options.chromium_path = "/nonexistent/chromium";
    options.profile_root = root.path();
    try {
        cdp::launch_chromium(options);
        FAIL() << "launched a missing executable";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::launch_failed);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/chromium"), std::string::npos);
    }
}

TEST(LauncherFaults, ABrowserThatExitsAtStartIsReportedWithItsOutput) {
    temp_dir root("rotor-badflag");
    cdp::launch_options options;
    options.profile_root = root.path();
    // A script that prints something and exits, standing in for a Chromium that cannot start.
    const auto fake = root.path() / "fake-chromium";
    {
        std::ofstream script(fake);
        script << "#!/bin/sh\necho 'fatal: cannot open display (fake)' >&2\nexit 3\n";
    }
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
    options.chromium_path = fake.string();
    const auto started = clock_type::now();
    try {
        cdp::launch_chromium(options);
        FAIL() << "a browser that exits at once was reported as started";
    } catch (const cdp::error& e) {
        EXPECT_EQ(e.kind(), errc::launch_failed);
        EXPECT_NE(std::string(e.what()).find("exited before DevTools was ready"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("cannot open display (fake)"), std::string::npos)
            << e.what();
    }
    EXPECT_LT(clock_type::now() - started, milliseconds(3000)); // seen through the pidfd
}

} // namespace
} // namespace rotor::test

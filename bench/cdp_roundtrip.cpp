// bench/cdp_roundtrip: Runtime.evaluate("1") round trips on one page and on 8 pages at once,
// rotor next to a raw floor (one coroutine on one Beast socket, no dispatch layer) and next to
// Playwright (playwright-core, connected over CDP to the same Chromium), alternating in rounds.
// One JSON object per line.
#include "cdp/browser.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

struct figures {
    double p50_us = 0;
    double p99_us = 0;
    double per_s = 0;
    std::size_t calls = 0;
};

figures summarize(std::vector<double> samples_us, double seconds) {
    std::sort(samples_us.begin(), samples_us.end());
    auto pct = [&](double q) {
        return samples_us[std::min(
            samples_us.size() - 1,
            static_cast<std::size_t>(q * static_cast<double>(samples_us.size())))];
    };
    return {pct(0.5), pct(0.99), static_cast<double>(samples_us.size()) / seconds,
            samples_us.size()};
}

double micros(clock_type::duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
}

// rotor: each page's loop is a coroutine on the browser's I/O thread, as the pool runs them.
figures run_rotor(rotor::cdp::browser& b, int pages, int iterations) {
    std::vector<std::shared_ptr<rotor::cdp::page>> opened;
    for (int i = 0; i < pages; ++i) opened.push_back(b.run(b.new_page()));
    auto loop = [](std::shared_ptr<rotor::cdp::page> p, int n,
                   std::vector<double>* out) -> asio::awaitable<void> {
        for (int i = 0; i < 50; ++i) co_await p->evaluate("1"); // warm-up
        for (int i = 0; i < n; ++i) {
            const auto t0 = clock_type::now();
            co_await p->evaluate("1");
            out->push_back(micros(clock_type::now() - t0));
        }
    };
    std::vector<std::vector<double>> samples(static_cast<std::size_t>(pages));
    std::vector<std::future<void>> done;
    const auto started = clock_type::now();
    for (int i = 0; i < pages; ++i) {
        const auto k = static_cast<std::size_t>(i);
        done.push_back(asio::co_spawn(b.get_executor(), loop(opened[k], iterations, &samples[k]),
                                      asio::use_future));
    }
    for (auto& d : done) d.get();
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    for (auto& p : opened) b.run(p->close());
    std::vector<double> all;
    for (auto& s : samples) all.insert(all.end(), s.begin(), s.end());
    return summarize(std::move(all), seconds);
}

// The raw floor: one coroutine, one socket, write a command, read until its reply, parse it.
figures run_raw_floor(unsigned short port, const std::string& path, int iterations) {
    asio::io_context io;
    std::vector<double> samples;
    double seconds = 0;
    auto body = [&]() -> asio::awaitable<void> {
        beast::websocket::stream<beast::tcp_stream> ws(io);
        co_await beast::get_lowest_layer(ws).async_connect(
            asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
            asio::use_awaitable);
        beast::get_lowest_layer(ws).socket().set_option(asio::ip::tcp::no_delay(true));
        const std::string host = "127.0.0.1:" + std::to_string(port);
        co_await ws.async_handshake(host, path, asio::use_awaitable);
        std::uint64_t id = 0;
        beast::flat_buffer buffer;
        auto call = [&](json message) -> asio::awaitable<json> {
            message["id"] = ++id;
            const std::string text = message.dump();
            co_await ws.async_write(asio::buffer(text), asio::use_awaitable);
            for (;;) {
                buffer.clear();
                co_await ws.async_read(buffer, asio::use_awaitable);
                const auto data = buffer.cdata();
                json reply = json::parse(
                    std::string_view(static_cast<const char*>(data.data()), data.size()));
                if (reply.value("id", std::uint64_t{0}) == id) co_return reply;
            }
        };
        json create = {{"method", "Target.createTarget"}, {"params", {{"url", "about:blank"}}}};
        json target = co_await call(std::move(create));
        json attach = {{"method", "Target.attachToTarget"},
                       {"params", {{"targetId", target["result"]["targetId"]}, {"flatten", true}}}};
        json attached = co_await call(std::move(attach));
        const std::string session = attached["result"]["sessionId"];
        json eval = {
            {"method", "Runtime.evaluate"},
            {"params", {{"expression", "1"}, {"returnByValue", true}, {"awaitPromise", true}}},
            {"sessionId", session}};
        for (int i = 0; i < 50; ++i) co_await call(eval);
        const auto started = clock_type::now();
        for (int i = 0; i < iterations; ++i) {
            const auto t0 = clock_type::now();
            co_await call(eval);
            samples.push_back(micros(clock_type::now() - t0));
        }
        seconds = std::chrono::duration<double>(clock_type::now() - started).count();
        json close = {{"method", "Target.closeTarget"},
                      {"params", {{"targetId", target["result"]["targetId"]}}}};
        co_await call(std::move(close));
    };
    auto done = asio::co_spawn(io, body(), asio::use_future);
    io.run();
    done.get();
    return summarize(std::move(samples), seconds);
}

std::optional<figures> run_playwright(const std::string& node, const std::string& script,
                                      unsigned short port, int pages, int iterations,
                                      std::string& error) {
    const std::string command = node + " " + script + " http://127.0.0.1:" + std::to_string(port) +
                                " " + std::to_string(pages) + " " + std::to_string(iterations) +
                                " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        error = "cannot run " + command;
        return std::nullopt;
    }
    std::string output;
    std::array<char, 4096> chunk{};
    while (std::fgets(chunk.data(), chunk.size(), pipe) != nullptr) output += chunk.data();
    const int rc = ::pclose(pipe);
    const auto brace = output.rfind('{');
    if (rc != 0 || brace == std::string::npos) {
        error = "playwright run failed: " + output.substr(0, 400);
        return std::nullopt;
    }
    const json r = json::parse(output.substr(brace), nullptr, false);
    if (r.is_discarded()) {
        error = "playwright printed no result: " + output.substr(0, 400);
        return std::nullopt;
    }
    return figures{r.value("p50_us", 0.0), r.value("p99_us", 0.0), r.value("per_s", 0.0),
                   r.value("calls", std::size_t{0})};
}

void print(const std::string& impl, int pages, const std::string& round, const figures& f) {
    json line = {{"bench", "cdp_roundtrip"},
                 {"impl", impl},
                 {"pages", pages},
                 {"round", round},
                 {"p50_us", std::lround(f.p50_us)},
                 {"p99_us", std::lround(f.p99_us)},
                 {"per_s", std::lround(f.per_s)},
                 {"calls", f.calls}};
    std::cout << line.dump() << std::endl;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"CDP round-trip latency and throughput: rotor vs raw floor vs Playwright"};
    int rounds = 3;
    int iterations = 2000;
    std::string node = "node";
    std::string script;
    app.add_option("--rounds", rounds, "Alternating rounds")->check(CLI::Range(1, 50));
    app.add_option("--iterations", iterations, "Calls per page per run")
        ->check(CLI::Range(10, 1000000));
    app.add_option("--node", node, "Node.js executable");
    app.add_option("--playwright-script", script,
                   "bench/peers/cdp_roundtrip_playwright.mjs (empty: no Playwright)");
    CLI11_PARSE(app, argc, argv);

    auto b = rotor::cdp::browser::launch();
    std::map<std::string, std::vector<figures>> results; // "impl/pages"
    for (int r = 1; r <= rounds; ++r) {
        const std::string round = std::to_string(r);
        for (int pages : {1, 8}) {
            auto f = run_rotor(*b, pages, iterations);
            print("rotor", pages, round, f);
            results["rotor/" + std::to_string(pages)].push_back(f);
            if (pages == 1) {
                auto raw = run_raw_floor(b->devtools_port(), b->websocket_path(), iterations);
                print("raw-floor", 1, round, raw);
                results["raw-floor/1"].push_back(raw);
            }
            if (!script.empty()) {
                std::string error;
                if (auto pw = run_playwright(node, script, b->devtools_port(), pages, iterations,
                                             error)) {
                    print("playwright", pages, round, *pw);
                    results["playwright/" + std::to_string(pages)].push_back(*pw);
                } else {
                    std::cout << json{{"bench", "cdp_roundtrip"},
                                      {"impl", "playwright"},
                                      {"pages", pages},
                                      {"round", round},
                                      {"error", error}}
                                     .dump()
                              << std::endl;
                }
            }
        }
    }
    for (const auto& [key, runs] : results) {
        std::vector<double> p50, p99, per_s;
        for (const auto& f : runs) {
            p50.push_back(f.p50_us);
            p99.push_back(f.p99_us);
            per_s.push_back(f.per_s);
        }
        const auto slash = key.find('/');
        print(key.substr(0, slash), std::stoi(key.substr(slash + 1)), "median",
              {median(p50), median(p99), median(per_s), runs.front().calls});
    }
    b->close();
    return 0;
}

#include "app/config_commands.hpp"

#include "nodes/api_fetch_node.hpp"
#include "nodes/config_loader.hpp"
#include "nodes/scan_product_node.hpp"
#include "nodes/simple_nodes.hpp"
#include "pool/browser_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>

namespace rotor::app {

namespace asio = boost::asio;

int run_config_check(const std::string& dir, std::ostream& out, std::ostream& err) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        err << "rotorctl config check: " << dir << " is not a directory\n";
        return 1;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
        err << "rotorctl config check: no .yaml files in " << dir << "\n";
        return 1;
    }
    int bad = 0;
    for (const auto& f : files) {
        nlohmann::json line = {{"file", f.string()}};
        try {
            const auto c = nodes::load_platform_config(f);
            line["platform"] = c.platform;
            line["worker_type"] = std::string(nodes::to_string(c.type));
            line["ok"] = true;
        } catch (const nodes::config_error& e) {
            ++bad;
            line["ok"] = false;
            line["problems"] = e.problems();
            for (const auto& p : e.problems()) err << p << "\n";
        }
        out << line.dump() << std::endl;
    }
    return bad == 0 ? 0 : 1;
}

int run_probe(const std::string& dir, const std::string& platform, const std::string& id_or_url,
              std::ostream& out, std::ostream& err) {
    nodes::platform_config config;
    try {
        config = nodes::load_platform(dir, platform);
    } catch (const nodes::config_error& e) {
        err << "rotorctl probe: " << e.what() << "\n";
        return 1;
    }
    nodes::item_context item;
    item.platform = config.platform;
    item.job_id = "probe";
    const bool is_url = id_or_url.rfind("http://", 0) == 0 || id_or_url.rfind("https://", 0) == 0 ||
                        id_or_url.find("://") != std::string::npos ||
                        id_or_url.rfind("file:", 0) == 0 || id_or_url.rfind("data:", 0) == 0;
    if (is_url) {
        item.url = id_or_url;
        item.id = id_or_url;
    } else {
        item.id = id_or_url;
    }
    // Refused before a browser is started: hosts off the list, local schemes, bad ids.
    {
        const nodes::url_builder urls(config);
        const auto problem = is_url ? [&] {
            const auto c = urls.policy().check(item.url);
            return c.allowed ? std::string() : "refused: " + c.reason;
        }()
                                    : urls.url_for(item.id).problem;
        if (!problem.empty()) {
            out << nlohmann::json{{"item", item.id}, {"outcome", "failed"}, {"reason", problem}}
                       .dump()
                << std::endl;
            return 1;
        }
    }
    asio::thread_pool blocking(2);
    std::unique_ptr<pool::browser_pool> browsers;
    std::unique_ptr<http::client> client;
    std::unique_ptr<nodes::node> fetch;
    if (config.type == nodes::worker_type::browser) {
        pool::pool_options po;
        po.browsers = 1;
        po.concurrency = 1;
        po.shm = config.browser.shm;
        po.flags.extra = config.browser.extra_flags;
        browsers = std::make_unique<pool::browser_pool>(po);
        nodes::scan_services services{browsers.get(), nullptr, &blocking};
        fetch = std::make_unique<nodes::scan_product_node>("scan", config, services);
    } else {
        client = std::make_unique<http::client>(nodes::http_options_for(config));
        fetch =
            std::make_unique<nodes::api_fetch_node>("fetch", config, *client, nullptr, blocking);
    }
    nodes::validate_node validate("validate", config);
    asio::io_context io;
    auto work = [&]() -> asio::awaitable<nodes::item_outcome> {
        item.deadline = std::chrono::steady_clock::now() + config.timeouts.item;
        auto o = co_await fetch->run(item);
        if (o.kind == nodes::outcome_kind::ok) o = co_await validate.run(item);
        co_return o;
    };
    auto future = asio::co_spawn(io, work(), asio::use_future);
    io.run();
    nodes::item_outcome outcome;
    try {
        outcome = future.get();
    } catch (const std::exception& e) {
        outcome = nodes::item_outcome::failed(e.what());
    }
    nlohmann::json line = {{"item", item.id},
                           {"url", item.url},
                           {"outcome", std::string(nodes::to_string(outcome.kind))},
                           {"status", item.http_status},
                           {"fields", item.fields},
                           {"timings", item.timings}};
    if (!outcome.reason.empty()) line["reason"] = outcome.reason;
    if (!item.problems.empty()) line["problems"] = item.problems;
    out << line.dump() << std::endl;
    if (browsers) browsers->stop();
    blocking.join();
    return outcome.kind == nodes::outcome_kind::ok || outcome.kind == nodes::outcome_kind::gone ? 0
                                                                                                : 1;
}

} // namespace rotor::app

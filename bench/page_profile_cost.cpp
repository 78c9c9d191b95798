// bench/page_profile_cost: what a page profile costs. N navigations of fixture product pages
// (waiting for load) on one page, in alternating rounds: no profile; a profile with allowed
// hosts only (one Fetch pause per document); the typical one (allowed hosts + images and fonts
// blocked, which also saves their loading). One JSON object per line.
#include "cdp/browser.hpp"
#include "cdp/page_profile.hpp"
#include "shop_server.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace cdp = rotor::cdp;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

struct mode {
    std::string name;
    std::optional<cdp::page_profile> profile;
};

struct run_figures {
    double items_per_s = 0;
    double paused_per_item = 0;
    double commands_per_item = 0;
};

run_figures run(cdp::browser& b, const std::string& base, const mode& m, int items, int round) {
    auto page = b.run([&]() -> asio::awaitable<std::shared_ptr<cdp::page>> {
        auto context = co_await b.new_context();
        auto p = co_await context->new_page();
        if (m.profile) co_await cdp::apply_profile(p, *m.profile);
        co_return p;
    }());
    const auto commands_before = b.cdp()->stats().commands;
    const auto started = clock_type::now();
    b.run([&]() -> asio::awaitable<void> {
        for (int i = 0; i < items; ++i) {
            // Normal products only (ids below 404000), a different one per item and round.
            const int id = 1000 + round * items + i;
            auto nav = co_await page->navigate(base + "/product/" + std::to_string(id));
            if (nav.status != 200) {
                throw std::runtime_error("product " + std::to_string(id) + ": status " +
                                         std::to_string(nav.status));
            }
        }
    }());
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    run_figures f;
    f.items_per_s = items / seconds;
    f.paused_per_item = static_cast<double>(cdp::blocked_counts(*page).paused) / items;
    f.commands_per_item = static_cast<double>(b.cdp()->stats().commands - commands_before) / items;
    b.run(page->close());
    return f;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Page profile cost: items/s with and without a profile"};
    int items = 200;
    int rounds = 3;
    app.add_option("--items", items, "Navigations per run")->check(CLI::Range(1, 100000));
    app.add_option("--rounds", rounds, "Alternating rounds")->check(CLI::Range(1, 50));
    CLI11_PARSE(app, argc, argv);

    rotor::fixture::shop_server shop;
    auto browser = cdp::browser::launch();
    cdp::page_profile hosts;
    hosts.name = "hosts-only";
    hosts.allowed_hosts = {"127.0.0.1"};
    cdp::page_profile typical = hosts;
    typical.name = "typical";
    typical.block_types = {cdp::resource_type::image, cdp::resource_type::font};
    const std::vector<mode> modes = {
        {"none", std::nullopt}, {"hosts-only", hosts}, {"typical", typical}};
    std::map<std::string, std::vector<double>> rates;
    for (int round = 0; round < rounds; ++round) {
        for (const auto& m : modes) {
            const auto f = run(*browser, shop.base_url(), m, items, round);
            rates[m.name].push_back(f.items_per_s);
            std::cout << json{{"bench", "page_profile_cost"},
                              {"profile", m.name},
                              {"round", round},
                              {"items", items},
                              {"items_per_s", f.items_per_s},
                              {"paused_per_item", f.paused_per_item},
                              {"commands_per_item", f.commands_per_item}}
                             .dump()
                      << std::endl;
        }
    }
    for (auto& [name, r] : rates) {
        std::sort(r.begin(), r.end());
        std::cout << json{{"bench", "page_profile_cost"},
                          {"profile", name},
                          {"round", "median"},
                          {"items", items},
                          {"items_per_s", r[r.size() / 2]}}
                         .dump()
                  << std::endl;
    }
    browser->close();
    return 0;
}

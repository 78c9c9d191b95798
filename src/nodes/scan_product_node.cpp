#include "nodes/scan_product_node.hpp"

#include "nodes/detail/blocking.hpp"
#include "nodes/detail/status_rules.hpp"
#include "nodes/extract_script.hpp"
#include "nodes/field_values.hpp"
#include "queue/errors.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace rotor::nodes {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using detail::ms_since;
using detail::status_verdict;

cdp::page_profile profile_for(const platform_config& c) {
    cdp::page_profile p;
    p.name = c.platform;
    p.headers = c.browser.headers;
    p.user_agent = c.browser.user_agent;
    p.view = c.browser.viewport;
    p.cookies = c.browser.cookies;
    p.block_types = c.browser.block;
    p.block_url_patterns = c.browser.block_urls;
    p.allowed_hosts = c.allowed_hosts;
    return p;
}

scan_product_node::scan_product_node(std::string id, const platform_config& config,
                                     scan_services services)
    : id_(std::move(id)), config_(config), services_(services), urls_(config),
      polite_(config, services.limiter, *services.blocking), profile_(profile_for(config)),
      field_args_(extract_arguments(config.scan)) {
    for (const auto& f : config.scan.fields) {
        regexes_.push_back(f.regex ? std::optional<std::regex>(std::regex(*f.regex))
                                   : std::nullopt);
    }
}

asio::awaitable<item_outcome> scan_product_node::cool_down(const std::string& why) {
    ++counters_.cooldowns;
    co_return co_await polite_.cool_down(why);
}

asio::awaitable<item_outcome> scan_product_node::run(item_context& item) {
    if (item.url.empty()) {
        const auto built = urls_.url_for(item.id);
        if (!built.problem.empty()) {
            ++counters_.refused;
            co_return item_outcome::failed(built.problem);
        }
        item.url = built.url;
    } else if (const auto check = urls_.policy().check(item.url); !check.allowed) {
        // A URL given whole (rotorctl probe): the same hosts rule, before the browser is asked.
        ++counters_.refused;
        co_return item_outcome::failed("refused: " + check.reason);
    }
    auto t0 = clock_type::now();
    if (!co_await polite_.wait(item)) co_return item_outcome::abandoned("stopped while waiting");
    item.timings["polite_wait_ms"] = ms_since(t0);
    // The item's time starts now: waiting for the rate is not the page's time.
    item.deadline = clock_type::now() + config_.timeouts.item;

    t0 = clock_type::now();
    const auto budget = std::max(milliseconds(1), item.remaining());
    pool::page_lease lease;
    try {
        lease = co_await services_.pool->acquire(profile_, budget);
    } catch (const pool::error& e) {
        if (e.kind() == pool::errc::acquire_timeout) {
            co_return item_outcome::retry("no page within the item's time (" +
                                          std::string(e.what()) + ")");
        }
        throw; // the pool cannot serve (unhealthy, stopped): the job's problem, not the item's
    }
    item.timings["acquire_ms"] = ms_since(t0);
    try {
        auto outcome = co_await scan_on_page(lease, item);
        const bool page_ok = outcome.kind != outcome_kind::retry;
        lease.release(page_ok ? (outcome.kind == outcome_kind::ok ? pool::item_outcome::ok
                                                                  : pool::item_outcome::failed)
                              : pool::item_outcome::broken);
        co_return outcome;
    } catch (const cdp::error& e) {
        lease.release(pool::item_outcome::broken);
        auto outcome = item_outcome::retry(item.url + ": " + e.what());
        // Only the item's own renderer crashing counts toward poison: a browser that died
        // (killed, recycled) takes every page it hosted with it, and the other items on it did
        // nothing wrong.
        outcome.crash = e.kind() == cdp::errc::target_crashed;
        co_return outcome;
    }
}

asio::awaitable<item_outcome> scan_product_node::scan_on_page(pool::page_lease& lease,
                                                              item_context& item) {
    auto page = lease.page_ptr();
    ++counters_.navigations;
    cdp::navigate_options nav;
    nav.timeout =
        std::min(config_.timeouts.navigation, std::max(milliseconds(1), item.remaining()));
    auto t0 = clock_type::now();
    cdp::navigation_result result;
    try {
        result = co_await page->navigate(item.url, nav);
    } catch (const cdp::error& e) {
        if (e.kind() == cdp::errc::timeout) {
            co_return item_outcome::retry("navigation timeout: " + std::string(e.what()));
        }
        if (e.kind() == cdp::errc::navigation_failed) {
            const std::string what = e.what();
            if (what.find(": refused: ") != std::string::npos) {
                ++counters_.refused; // the profile's guard, before anything was sent
                co_return item_outcome::failed(what);
            }
            if (what.find("ERR_BLOCKED_BY_CLIENT") != std::string::npos) {
                ++counters_.refused;
                co_return item_outcome::failed(
                    what + " (the page profile blocked it: a redirect to a host off "
                           "allowed_hosts, or a blocked URL)");
            }
            co_return item_outcome::retry(what);
        }
        throw;
    }
    item.timings["navigate_ms"] = ms_since(t0);
    item.http_status = result.status;
    const int s = result.status;
    switch (detail::judge_status(config_, s)) {
    case status_verdict::gone:
        co_return item_outcome::gone("HTTP " + std::to_string(s));
    case status_verdict::cool_down: {
        const std::string why = "HTTP " + std::to_string(s) + " from " + item.url;
        co_return co_await cool_down(why);
    }
    case status_verdict::blocked: {
        const std::string why = "blocked: HTTP " + std::to_string(s) + " from " + item.url;
        co_return co_await cool_down(why);
    }
    case status_verdict::retry:
        co_return item_outcome::retry(s == 0 ? "no HTTP status seen for " + item.url
                                             : "HTTP " + std::to_string(s) + " from " + item.url);
    case status_verdict::fail:
        co_return item_outcome::failed("HTTP " + std::to_string(s) + " from " + item.url);
    case status_verdict::proceed:
        break;
    }

    t0 = clock_type::now();
    const auto& wait = config_.scan.wait_for;
    const auto wait_budget =
        std::min(config_.timeouts.wait, std::max(milliseconds(1), item.remaining()));
    std::string wait_timeout;
    try {
        if (!wait.selector.empty()) {
            co_await page->wait_for_selector(wait.selector, wait_budget);
        } else if (!wait.expression.empty()) {
            co_await page->wait_for_function(wait.expression, wait_budget);
        }
    } catch (const cdp::error& e) {
        if (e.kind() != cdp::errc::timeout) throw;
        wait_timeout = e.what();
    }
    if (!wait_timeout.empty()) {
        // A block page never shows the data: tell it apart before calling it a timeout.
        cdp::evaluate_options eo;
        eo.timeout = milliseconds(5000);
        const auto probe = co_await page->call_function(extract_function(), field_args_, eo);
        if (probe.value("blocked", false)) {
            {
                const std::string why = "blocked page at " + item.url;
                co_return co_await cool_down(why);
            }
        }
        co_return item_outcome::retry("the data never appeared on " + item.url + " (" +
                                      wait_timeout + ")");
    }
    item.timings["wait_ms"] = ms_since(t0);

    t0 = clock_type::now();
    cdp::evaluate_options eo;
    eo.timeout = std::min(milliseconds(10000), std::max(milliseconds(1), item.remaining()));
    nlohmann::json extracted;
    try {
        extracted = co_await page->call_function(extract_function(), field_args_, eo);
    } catch (const cdp::error& e) {
        if (e.kind() == cdp::errc::evaluation_failed) {
            co_return item_outcome::failed("extraction failed on " + item.url + ": " + e.what());
        }
        if (e.kind() == cdp::errc::timeout) {
            co_return item_outcome::retry("extraction timed out on " + item.url);
        }
        throw;
    }
    item.timings["extract_ms"] = ms_since(t0);
    if (extracted.value("blocked", false)) {
        const std::string why = "blocked page at " + item.url;
        co_return co_await cool_down(why);
    }
    const auto raw = extracted.value("fields", nlohmann::json::object());
    for (std::size_t i = 0; i < config_.scan.fields.size(); ++i) {
        const auto& f = config_.scan.fields[i];
        std::optional<std::string> text;
        if (const auto it = raw.find(f.name); it != raw.end() && it->is_string()) {
            text = it->get<std::string>();
        }
        const auto v = convert_field(f, text, regexes_[i] ? &*regexes_[i] : nullptr);
        item.fields[f.name] = v.value;
        if (!v.problem.empty()) item.problems[f.name] = v.problem;
    }
    co_return item_outcome::ok();
}

} // namespace rotor::nodes

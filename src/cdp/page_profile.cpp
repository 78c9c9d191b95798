#include "cdp/page_profile.hpp"

#include "cdp/detail/profile_session.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace rotor::cdp {

namespace asio = boost::asio;

namespace {

// The profile's cookies must name where they go: Chromium would otherwise refuse the whole list
// with a message that does not say which one.
void check_cookies(const page_profile& p) {
    for (std::size_t i = 0; i < p.cookies.size(); ++i) {
        const cookie& k = p.cookies[i];
        const std::string which =
            "page profile " + p.name + ": cookie #" + std::to_string(i) + " (" + k.name + ")";
        if (k.name.empty()) throw error(errc::invalid_profile, which + ": needs a name");
        if (k.domain.empty()) throw error(errc::invalid_profile, which + ": needs a domain");
        if (k.path.empty() || k.path.front() != '/') {
            throw error(errc::invalid_profile, which + ": path must start with '/'");
        }
    }
}

} // namespace

std::string page_profile::key() const {
    // Order matters for block_url_patterns (first match decides) and cookies (a later one with
    // the same name wins); not for hosts or types.
    std::vector<std::string> hosts = allowed_hosts;
    std::sort(hosts.begin(), hosts.end());
    std::vector<std::string> types;
    for (auto t : block_types) types.emplace_back(to_string(t));
    std::sort(types.begin(), types.end());
    types.erase(std::unique(types.begin(), types.end()), types.end());
    json cookie_list = json::array();
    for (const auto& k : cookies) {
        cookie_list.push_back({k.name, k.value, k.domain, k.path, k.secure, k.http_only});
    }
    json doc = {
        {"name", name},
        {"headers", headers},
        {"user_agent", user_agent},
        {"view", view ? json{view->width, view->height, view->device_scale_factor, view->mobile}
                      : json(nullptr)},
        {"cookies", std::move(cookie_list)},
        {"block_types", types},
        {"block_url_patterns", block_url_patterns},
        {"allowed_hosts", hosts},
        {"allow_private_addresses", allow_private_addresses}};
    // FNV-1a, 64 bits: stable across processes and builds (std::hash is neither).
    std::uint64_t h = 14695981039346656037ULL;
    for (unsigned char ch : doc.dump()) {
        h ^= ch;
        h *= 1099511628211ULL;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

asio::awaitable<void> apply_profile(std::shared_ptr<page> p, page_profile profile) {
    check_cookies(profile);
    auto st =
        std::make_shared<page_profile_state>(p->cdp(), std::move(profile), p->command_timeout());
    co_await detail::apply_to_session(st, p->session_id(), detail::session_kind::page);
    std::weak_ptr<page_profile_state> weak = st;
    auto guard = [weak](const std::string& url) -> std::string {
        auto s = weak.lock();
        if (!s) return {};
        url_check verdict = s->policy.check(url);
        if (verdict.allowed) return {};
        ++s->refused_navigations;
        return "page profile " + s->profile.name + ": " + verdict.reason;
    };
    p->set_profile(std::move(st), std::move(guard));
}

profile_counts blocked_counts(const page& p) {
    profile_counts out;
    const auto& st = p.profile();
    if (!st) return out;
    out.refused_navigations = st->refused_navigations;
    out.refused_documents = st->refused_documents;
    out.blocked_types = st->blocked_types;
    out.blocked_by_rules = st->blocked_by_rules;
    out.paused = st->paused;
    out.children = st->children;
    out.children_failed = st->children_failed;
    std::lock_guard lock(st->mutex);
    out.live_children = st->sessions.size() - 1; // all but the page's own
    return out;
}

asio::awaitable<std::shared_ptr<browser_context>>
create_profile_context(std::shared_ptr<client> c, page_profile profile,
                       milliseconds command_timeout) {
    std::string bypass;
    try {
        bypass = url_policy(profile.allowed_hosts, profile.policy_options()).proxy_bypass_list();
    } catch (const std::invalid_argument& e) {
        throw error(errc::invalid_profile, "page profile " + profile.name + ": " + e.what());
    }
    json params = {{"disposeOnDetach", true}};
    if (!bypass.empty()) {
        // Nothing listens on port 1: a host off the list fails to connect, on loopback.
        params["proxyServer"] = "http://127.0.0.1:1";
        params["proxyBypassList"] = bypass;
    }
    json reply = co_await c->async_call("Target.createBrowserContext", std::move(params), "",
                                        command_timeout, asio::use_awaitable);
    if (!reply.contains("browserContextId") || !reply["browserContextId"].is_string()) {
        throw error(errc::malformed_response,
                    "Target.createBrowserContext for page profile " + profile.name +
                        ": reply has no browserContextId: " + reply.dump());
    }
    co_return std::make_shared<browser_context>(
        std::move(c), reply["browserContextId"].get<std::string>(), command_timeout);
}

} // namespace rotor::cdp

#include "cdp/detail/profile_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace rotor::cdp {

namespace asio = boost::asio;

namespace {

constexpr std::size_t max_failed_remembered = 4096; // failed ids whose loadingFailed is pending

url_policy compile_policy(const page_profile& p) {
    try {
        return url_policy(p.allowed_hosts, p.policy_options());
    } catch (const std::invalid_argument& e) {
        throw error(errc::invalid_profile, "page profile " + p.name + ": " + e.what());
    }
}

} // namespace

page_profile_state::page_profile_state(const std::shared_ptr<client>& c, page_profile p,
                                       milliseconds timeout)
    : owner(c), profile(std::move(p)), policy(compile_policy(profile)), command_timeout(timeout) {
    const auto blocked = policy.blocked_url_rules(profile.block_url_patterns);
    json rules = json::array();
    for (const auto& r : blocked.url_patterns) {
        rules.push_back({{"urlPattern", r.url_pattern}, {"block", r.block}});
    }
    blocked_url_params = {{"urlPatterns", std::move(rules)}, {"urls", blocked.wildcards}};
    json patterns = json::array();
    for (const auto& wildcard : policy.document_pause_patterns()) {
        patterns.push_back({{"urlPattern", wildcard}, {"resourceType", "Document"}});
    }
    for (auto t : profile.block_types) {
        if (blocked_type_names.insert(std::string(protocol_name(t))).second) {
            patterns.push_back(
                {{"urlPattern", "*"}, {"resourceType", std::string(protocol_name(t))}});
        }
    }
    fetch_patterns = {{"patterns", std::move(patterns)}};
}

namespace detail {
namespace {

// Fetch.requestPaused: one handler per session decides every rule. Runs on the I/O thread.
void on_paused(page_profile_state& st, client& c, const std::string& session, const json& e) {
    ++st.paused;
    const std::string type = e.value("resourceType", std::string());
    std::string url;
    if (auto r = e.find("request"); r != e.end() && r->is_object()) {
        url = r->value("url", std::string());
    }
    bool fail = false;
    if (type == "Document") {
        const url_check verdict = st.policy.check(url);
        if (!verdict.allowed) {
            fail = true;
            ++st.refused_documents;
            spdlog::debug("page profile {}: refused a document: {}", st.profile.name,
                          verdict.reason);
        }
    } else if (st.blocked_type_names.count(type) != 0) {
        fail = true;
        ++st.blocked_types;
    }
    json params = {{"requestId", e.value("requestId", std::string())}};
    if (fail) {
        params["errorReason"] = "BlockedByClient";
        const std::string network_id = e.value("networkId", std::string());
        std::lock_guard lock(st.mutex);
        if (st.failed_requests.size() >= max_failed_remembered) st.failed_requests.clear();
        if (!network_id.empty()) st.failed_requests.insert(network_id);
    }
    // A request cancelled meanwhile makes the answer fail: nothing left to decide.
    c.async_call(fail ? "Fetch.failRequest" : "Fetch.continueRequest", std::move(params), session,
                 st.command_timeout, [](std::exception_ptr, json) {});
}

// Network.loadingFailed: counts what Chromium blocked through setBlockedURLs (blockedReason
// "inspector" also marks what this profile failed through Fetch: those are counted already).
void on_failed(page_profile_state& st, const json& e) {
    if (e.value("blockedReason", std::string()) != "inspector") return;
    {
        std::lock_guard lock(st.mutex);
        if (st.failed_requests.erase(e.value("requestId", std::string())) != 0) return;
    }
    ++st.blocked_by_rules;
}

void on_attached(const std::weak_ptr<page_profile_state>& weak, const json& e) {
    auto st = weak.lock();
    auto c = st ? st->owner.lock() : nullptr;
    if (!c) return;
    const std::string child = e.value("sessionId", std::string());
    std::string type;
    if (auto info = e.find("targetInfo"); info != e.end() && info->is_object()) {
        type = info->value("type", std::string());
    }
    if (child.empty()) return;
    ++st->children;
    session_kind kind = session_kind::worker;
    if (type == "iframe" || type == "page") kind = session_kind::frame;
    if (type == "service_worker") kind = session_kind::service_worker;
    asio::co_spawn(c->get_executor(), apply_to_session(st, child, kind),
                   [name = st->profile.name, child, type](std::exception_ptr ep) {
                       if (!ep) return;
                       try {
                           std::rethrow_exception(ep);
                       } catch (const std::exception& ex) {
                           spdlog::warn("page profile {}: {} session {}: {}", name, type, child,
                                        ex.what());
                       }
                   });
}

// Handlers run inside the client's reader: nothing may escape them.
template <typename F> auto guarded(std::string what, F f) {
    return [what = std::move(what), f = std::move(f)](const json& e) {
        try {
            f(e);
        } catch (const std::exception& ex) {
            spdlog::warn("page profile: {} handler: {}: {:.200}", what, ex.what(), e.dump());
        }
    };
}

std::vector<subscription> subscribe_handlers(const std::shared_ptr<page_profile_state>& st,
                                             client& c, const std::string& session,
                                             session_kind kind) {
    std::weak_ptr<page_profile_state> weak = st;
    std::vector<subscription> subs;
    event_handlers attached;
    attached.on_event =
        guarded("Target.attachedToTarget", [weak](const json& e) { on_attached(weak, e); });
    if (kind != session_kind::page) {
        // The child is gone: drop what was kept for it, outside the client's dispatch.
        attached.on_close = [weak, session, ex = c.get_executor()](const error&) {
            asio::post(ex, [weak, session] {
                auto s = weak.lock();
                if (!s) return;
                std::vector<subscription> dropped;
                std::lock_guard lock(s->mutex);
                if (auto it = s->sessions.find(session); it != s->sessions.end()) {
                    dropped = std::move(it->second);
                    s->sessions.erase(it);
                }
            });
        };
    }
    subs.push_back(c.subscribe(session, "Target.attachedToTarget", std::move(attached)));
    event_handlers failed;
    failed.on_event = guarded("Network.loadingFailed", [weak](const json& e) {
        if (auto s = weak.lock()) on_failed(*s, e);
    });
    subs.push_back(c.subscribe(session, "Network.loadingFailed", std::move(failed)));
    if (kind == session_kind::page || kind == session_kind::frame) {
        event_handlers paused;
        paused.on_event = guarded("Fetch.requestPaused", [weak, session](const json& e) {
            auto s = weak.lock();
            auto cl = s ? s->owner.lock() : nullptr;
            if (cl) on_paused(*s, *cl, session, e);
        });
        subs.push_back(c.subscribe(session, "Fetch.requestPaused", std::move(paused)));
    }
    return subs;
}

bool not_available(const error& e) {
    // A domain a target type does not have ("'Fetch.enable' wasn't found").
    return e.kind() == errc::protocol_error &&
           std::string_view(e.what()).find("wasn't found") != std::string_view::npos;
}

struct command {
    std::string method;
    json params;
    bool essential = true; // a rule: failing it must not let the target run
};

// What a session of `kind` is sent, in order.
std::vector<command> rule_commands(const page_profile_state& st, session_kind kind) {
    const page_profile& p = st.profile;
    const bool child = kind != session_kind::page;
    std::vector<command> out;
    if (child) {
        json network = {{"maxTotalBufferSize", 1024 * 1024}, {"maxResourceBufferSize", 256 * 1024}};
        out.push_back({"Network.enable", std::move(network)});
    }
    // Headers and user agent are not rules: a target type may lack them (page: never).
    if (!p.headers.empty()) {
        json headers = {{"headers", p.headers}};
        out.push_back({"Network.setExtraHTTPHeaders", std::move(headers), !child});
    }
    if (!p.user_agent.empty()) {
        json ua = {{"userAgent", p.user_agent}};
        out.push_back({"Network.setUserAgentOverride", std::move(ua), !child});
    }
    out.push_back({"Network.setBlockedURLs", st.blocked_url_params});
    if (kind == session_kind::page || kind == session_kind::frame) {
        out.push_back({"Fetch.enable", st.fetch_patterns});
    }
    if (kind == session_kind::page && p.view) {
        json metrics = {{"width", p.view->width},
                        {"height", p.view->height},
                        {"deviceScaleFactor", p.view->device_scale_factor},
                        {"mobile", p.view->mobile}};
        out.push_back({"Emulation.setDeviceMetricsOverride", std::move(metrics)});
    }
    if (kind == session_kind::page && !p.cookies.empty()) {
        json cookies = json::array();
        for (const auto& k : p.cookies) {
            cookies.push_back({{"name", k.name},
                               {"value", k.value},
                               {"domain", k.domain},
                               {"path", k.path},
                               {"secure", k.secure},
                               {"httpOnly", k.http_only}});
        }
        json params = {{"cookies", std::move(cookies)}};
        out.push_back({"Network.setCookies", std::move(params)});
    }
    // Workers may start workers; a worker type without the Target domain starts none.
    json auto_attach = {{"autoAttach", true}, {"waitForDebuggerOnStart", true}, {"flatten", true}};
    out.push_back({"Target.setAutoAttach", std::move(auto_attach),
                   kind == session_kind::page || kind == session_kind::frame});
    return out;
}

// A service worker answers Network.enable only once it runs, so its rules are sent and it is
// resumed without waiting: commands of one session are handled in order, the rules first.
void send_without_waiting(const std::shared_ptr<page_profile_state>& st, client& c,
                          const std::string& session, std::vector<command> commands) {
    for (auto& cmd : commands) {
        c.async_call(cmd.method, std::move(cmd.params), session, st->command_timeout,
                     [st, session, method = cmd.method,
                      essential = cmd.essential](std::exception_ptr ep, json) {
                         if (!ep) return;
                         try {
                             std::rethrow_exception(ep);
                         } catch (const error& e) {
                             if (!essential && not_available(e)) return;
                             if (e.kind() == errc::target_closed ||
                                 e.kind() == errc::browser_closed) {
                                 return;
                             }
                             ++st->children_failed;
                             spdlog::warn("page profile {}: service worker session {}: {}",
                                          st->profile.name, session, e.what());
                         }
                     });
    }
}

} // namespace

asio::awaitable<void> apply_to_session(std::shared_ptr<page_profile_state> st, std::string session,
                                       session_kind kind) {
    auto c = st->owner.lock();
    if (!c) co_return;
    {
        auto subs = subscribe_handlers(st, *c, session, kind);
        std::lock_guard lock(st->mutex);
        auto& kept = st->sessions[session];
        for (auto& s : subs) kept.push_back(std::move(s));
    }
    const bool child = kind != session_kind::page;
    auto commands = rule_commands(*st, kind);
    json resume = json::object();
    if (kind == session_kind::service_worker) {
        send_without_waiting(st, *c, session, std::move(commands));
        co_await c->async_call("Runtime.runIfWaitingForDebugger", std::move(resume), session,
                               st->command_timeout, asio::use_awaitable);
        co_return;
    }
    for (auto& cmd : commands) {
        try {
            co_await c->async_call(cmd.method, std::move(cmd.params), session, st->command_timeout,
                                   asio::use_awaitable);
        } catch (const error& e) {
            if (!cmd.essential && not_available(e)) continue;
            if (!child) {
                const errc code =
                    e.kind() == errc::protocol_error && cmd.method == "Network.setBlockedURLs"
                        ? errc::invalid_profile
                        : e.kind();
                throw error(code, "page profile " + st->profile.name + ": " + e.what());
            }
            if (e.kind() != errc::target_closed && e.kind() != errc::browser_closed) {
                // Resuming it would let it reach what the rules forbid: leave it paused.
                ++st->children_failed;
                spdlog::warn("page profile {}: child session {} left paused: {}", st->profile.name,
                             session, e.what());
            }
            co_return;
        }
    }
    if (child) {
        co_await c->async_call("Runtime.runIfWaitingForDebugger", std::move(resume), session,
                               st->command_timeout, asio::use_awaitable);
    }
}

} // namespace detail
} // namespace rotor::cdp

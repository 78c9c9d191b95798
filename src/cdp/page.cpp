#include "cdp/page.hpp"

#include "cdp/event_waiter.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace rotor::cdp {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

// A short form of a script for error messages.
std::string excerpt(const std::string& text) {
    constexpr std::size_t max = 80;
    std::string out = text.size() > max ? text.substr(0, max) + "..." : text;
    for (char& c : out) {
        if (c == '\n') c = ' ';
    }
    return out;
}

std::string lifecycle_name(wait_until w) {
    switch (w) {
    case wait_until::dom_content_loaded:
        return "DOMContentLoaded";
    case wait_until::network_idle:
        return "networkIdle";
    case wait_until::load:
    case wait_until::commit:
        break;
    }
    return "load";
}

std::string cdp_resource_type(resource_type t) {
    switch (t) {
    case resource_type::image:
        return "Image";
    case resource_type::font:
        return "Font";
    case resource_type::media:
        return "Media";
    case resource_type::stylesheet:
        return "Stylesheet";
    case resource_type::script:
        return "Script";
    case resource_type::xhr:
        return "XHR";
    case resource_type::fetch:
        return "Fetch";
    case resource_type::other:
        return "Other";
    }
    return "Other";
}

std::string exception_text(const json& details) {
    if (auto ex = details.find("exception"); ex != details.end() && ex->is_object()) {
        if (auto d = ex->find("description"); d != ex->end() && d->is_string())
            return d->get<std::string>();
        if (auto v = ex->find("value"); v != ex->end()) return v->dump();
    }
    return details.value("text", std::string("uncaught exception"));
}

// Standard base64 (RFC 4648) as Chromium sends screenshots.
std::string decode_base64(const std::string& in) {
    static const auto table = [] {
        std::array<int, 256> t{};
        t.fill(-1);
        const std::string alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (std::size_t i = 0; i < alphabet.size(); ++i) {
            t[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
        }
        return t;
    }();
    std::string out;
    out.reserve(in.size() / 4 * 3);
    unsigned value = 0;
    int bits = -8;
    for (unsigned char c : in) {
        if (table[c] < 0) continue; // padding, whitespace
        value = (value << 6) | static_cast<unsigned>(table[c]);
        bits += 6;
        if (bits >= 0) {
            out.push_back(static_cast<char>((value >> bits) & 0xff));
            bits -= 8;
        }
    }
    return out;
}

// Resolves with the value once EXPR is truthy: checked now, on every DOM mutation and every
// 50 ms (for state mutations do not show); rejects with a marker after T ms.
constexpr std::string_view wait_marker = "__rotor_wait_timeout__";
std::string wait_script(const std::string& expression, milliseconds timeout) {
    return "new Promise((resolve, reject) => {\n"
           "  let obs, iv, to;\n"
           "  const done = () => { if (obs) obs.disconnect(); clearInterval(iv); clearTimeout(to); "
           "};\n"
           "  const check = () => { try { const v = (" +
           expression +
           "); if (v) { done(); resolve(v); return true; } } catch (e) {} return false; };\n"
           "  if (check()) return;\n"
           "  obs = new MutationObserver(check);\n"
           "  obs.observe(document, {childList: true, subtree: true, attributes: true, "
           "characterData: true});\n"
           "  iv = setInterval(check, 50);\n"
           "  to = setTimeout(() => { done(); reject(new Error('" +
           std::string(wait_marker) + "')); }, " + std::to_string(timeout.count()) +
           ");\n"
           "})";
}

} // namespace

std::string_view to_string(wait_until w) {
    switch (w) {
    case wait_until::commit:
        return "commit";
    case wait_until::dom_content_loaded:
        return "DOMContentLoaded";
    case wait_until::load:
        return "load";
    case wait_until::network_idle:
        return "networkIdle";
    }
    return "load";
}

std::string_view to_string(resource_type t) {
    switch (t) {
    case resource_type::image:
        return "image";
    case resource_type::font:
        return "font";
    case resource_type::media:
        return "media";
    case resource_type::stylesheet:
        return "stylesheet";
    case resource_type::script:
        return "script";
    case resource_type::xhr:
        return "xhr";
    case resource_type::fetch:
        return "fetch";
    case resource_type::other:
        return "other";
    }
    return "other";
}

page::page(std::shared_ptr<client> c, std::string target_id, std::string session_id,
           std::string context_id, milliseconds command_timeout)
    : client_(std::move(c)), target_id_(std::move(target_id)), session_id_(std::move(session_id)),
      context_id_(std::move(context_id)), command_timeout_(command_timeout) {}

page::~page() {
    bool close_target = false;
    {
        // The lifecycle watch writes `why` on the I/O thread, which may be running now.
        std::lock_guard lock(end_->mutex);
        close_target = !end_->why || end_->why->kind() == errc::target_crashed;
    }
    if (close_target) {
        // Not closed through close(): do not leave the target open in Chromium.
        json params = {{"targetId", target_id_}};
        client_->async_call("Target.closeTarget", std::move(params), "", milliseconds(5000),
                            [](std::exception_ptr, json) {});
    }
    client_->forget_session(session_id_);
}

asio::awaitable<std::shared_ptr<page>> page::attach(std::shared_ptr<client> c,
                                                    std::string target_id, std::string context_id,
                                                    milliseconds command_timeout) {
    json params = {{"targetId", target_id}, {"flatten", true}};
    json attached = co_await c->async_call("Target.attachToTarget", std::move(params), "",
                                           command_timeout, use_awaitable);
    if (!attached.contains("sessionId") || !attached["sessionId"].is_string()) {
        throw error(errc::malformed_response, "Target.attachToTarget " + target_id +
                                                  ": reply has no sessionId: " + attached.dump());
    }
    std::string session = attached["sessionId"].get<std::string>();
    c->track_target(target_id, session);
    std::shared_ptr<page> p(new page(c, std::move(target_id), std::move(session),
                                     std::move(context_id), command_timeout));

    // Remember why the page ended (crash or close), for pools deciding what to recycle.
    event_handlers watch;
    watch.on_close = [state = p->end_](const error& why) {
        std::lock_guard lock(state->mutex);
        if (!state->why) state->why = why;
    };
    p->lifecycle_watch_ = c->subscribe(p->session_id_, "Inspector.targetCrashed", std::move(watch));

    co_await p->send("Inspector.enable");
    co_await p->send("Page.enable");
    json lifecycle = {{"enabled", true}};
    co_await p->send("Page.setLifecycleEventsEnabled", std::move(lifecycle));
    // Small buffers: rotor reads the document's status, not bodies, through Network.
    json network = {{"maxTotalBufferSize", 1024 * 1024}, {"maxResourceBufferSize", 256 * 1024}};
    co_await p->send("Network.enable", std::move(network));
    co_return p;
}

std::optional<error> page::ended() const {
    std::lock_guard lock(end_->mutex);
    return end_->why;
}

asio::awaitable<json> page::send(std::string method, json params, milliseconds timeout) {
    co_return co_await client_->async_call(std::move(method), std::move(params), session_id_,
                                           timeout, use_awaitable);
}

void page::terminate_script() const {
    client_->async_call("Runtime.terminateExecution", json::object(), session_id_,
                        milliseconds(2000), [](std::exception_ptr, json) {});
}

asio::awaitable<navigation_result> page::navigate(std::string url, navigate_options options) {
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + options.timeout;
    auto left = [&] {
        return std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(
                                             deadline - std::chrono::steady_clock::now()));
    };
    const std::string what = "navigate " + url;

    // Subscribe before navigating so no event of this navigation is missed.
    event_waiter lifecycle(client_, session_id_, "Page.lifecycleEvent");
    event_waiter response(client_, session_id_, "Network.responseReceived");

    json params = {{"url", url}};
    if (!options.referrer.empty()) params["referrer"] = options.referrer;
    json reply;
    try {
        reply = co_await client_->async_call("Page.navigate", std::move(params), session_id_,
                                             options.timeout, use_awaitable);
    } catch (const error& e) {
        if (e.kind() == errc::timeout) {
            terminate_script();
            throw error(errc::timeout, what + ": timeout after " +
                                           std::to_string(options.timeout.count()) +
                                           " ms (waiting for the response)");
        }
        throw error(e.kind(), what + ": " + e.what());
    }
    if (auto text = reply.find("errorText");
        text != reply.end() && text->is_string() && !text->get_ref<const std::string&>().empty()) {
        throw error(errc::navigation_failed, what + ": " + text->get<std::string>());
    }
    navigation_result result;
    result.loader_id = reply.value("loaderId", std::string());
    result.url = url;
    const std::string loader = result.loader_id;

    if (options.wait != wait_until::commit && !loader.empty()) {
        const std::string name = lifecycle_name(options.wait);
        // GCC 12 destroys temporaries of a co_await expression twice: pass locals only.
        event_waiter::predicate is_event = [loader, name](const json& e) {
            return e.value("loaderId", std::string()) == loader &&
                   e.value("name", std::string()) == name;
        };
        std::string label = what + " (waiting for " + name + ")";
        const milliseconds budget = left();
        try {
            co_await lifecycle.async_wait(std::move(is_event), budget, std::move(label),
                                          use_awaitable);
        } catch (const error& e) {
            if (e.kind() == errc::timeout) {
                // Unstick a page whose script spins and stop what is still loading, so the
                // page can be reused or closed cleanly.
                terminate_script();
                client_->async_call("Page.stopLoading", json::object(), session_id_,
                                    milliseconds(2000), [](std::exception_ptr, json) {});
                throw error(errc::timeout, what + ": timeout after " +
                                               std::to_string(options.timeout.count()) +
                                               " ms (waiting for " + name + ")");
            }
            throw;
        }
    }
    // The main document's response: its requestId is the navigation's loaderId, also across
    // redirects (which keep the id and end in the final response).
    event_waiter::predicate is_document = [loader](const json& e) {
        return e.value("requestId", std::string()) == loader;
    };
    std::optional<json> doc = response.take(is_document);
    if (!doc && !loader.empty()) {
        std::string label = what + " (waiting for the response)";
        const milliseconds budget = std::min(left(), milliseconds(2000));
        try {
            doc = co_await response.async_wait(std::move(is_document), budget, std::move(label),
                                               use_awaitable);
        } catch (const error&) {
            // Served from cache or a non-network document: no status to report.
        }
    }
    if (doc && doc->contains("response")) {
        const json& r = (*doc)["response"];
        result.status = r.value("status", 0);
        result.url = r.value("url", url);
        result.mime_type = r.value("mimeType", std::string());
    }
    co_return result;
}

asio::awaitable<json> page::evaluate(std::string expression, evaluate_options options) {
    json params = {{"expression", expression},
                   {"returnByValue", true},
                   {"awaitPromise", options.await_promise}};
    json reply;
    try {
        reply = co_await client_->async_call("Runtime.evaluate", std::move(params), session_id_,
                                             options.timeout, use_awaitable);
    } catch (const error& e) {
        if (e.kind() == errc::timeout) {
            terminate_script();
            throw error(errc::timeout, "evaluate `" + excerpt(expression) + "`: timeout after " +
                                           std::to_string(options.timeout.count()) +
                                           " ms (script terminated)");
        }
        throw error(e.kind(), "evaluate `" + excerpt(expression) + "`: " + e.what());
    }
    if (auto details = reply.find("exceptionDetails"); details != reply.end()) {
        throw error(errc::evaluation_failed,
                    "evaluate `" + excerpt(expression) + "`: " + exception_text(*details));
    }
    auto result = reply.find("result");
    if (result == reply.end() || !result->is_object()) {
        throw error(errc::malformed_response,
                    "evaluate `" + excerpt(expression) + "`: reply has no result: " + reply.dump());
    }
    auto value = result->find("value");
    co_return value != result->end() ? std::move(*value) : json(nullptr);
}

asio::awaitable<json> page::call_function(std::string function_declaration,
                                          evaluate_options options) {
    std::string expression = "(" + function_declaration + ")()";
    co_return co_await evaluate(std::move(expression), options);
}

asio::awaitable<json> page::wait_for_function(std::string expression, milliseconds timeout) {
    evaluate_options options;
    options.await_promise = true;
    options.timeout = timeout + milliseconds(2000); // the page's own timer fires first
    try {
        std::string script = wait_script(expression, timeout);
        co_return co_await evaluate(std::move(script), options);
    } catch (const error& e) {
        if (e.kind() == errc::timeout ||
            (e.kind() == errc::evaluation_failed &&
             std::string_view(e.what()).find(wait_marker) != std::string_view::npos)) {
            throw error(errc::timeout, "wait for `" + excerpt(expression) + "`: timeout after " +
                                           std::to_string(timeout.count()) + " ms");
        }
        throw;
    }
}

asio::awaitable<void> page::wait_for_selector(std::string selector, milliseconds timeout) {
    std::string quoted;
    try {
        quoted = json(selector).dump();
    } catch (const json::exception& e) {
        throw error(errc::invalid_argument, "wait for selector: the selector is not valid UTF-8 (" +
                                                std::string(e.what()) + ")");
    }
    std::string expression = "document.querySelector(" + quoted + ") !== null";
    try {
        co_await wait_for_function(std::move(expression), timeout);
    } catch (const error& e) {
        if (e.kind() == errc::timeout) {
            throw error(errc::timeout, "wait for selector " + selector + ": timeout after " +
                                           std::to_string(timeout.count()) + " ms");
        }
        throw;
    }
}

asio::awaitable<std::string> page::content() {
    std::string expression = "document.documentElement ? document.documentElement.outerHTML : ''";
    json html = co_await evaluate(std::move(expression));
    co_return html.is_string() ? html.get<std::string>() : std::string();
}

asio::awaitable<void> page::set_extra_headers(std::map<std::string, std::string> headers) {
    json params = {{"headers", headers}};
    co_await send("Network.setExtraHTTPHeaders", std::move(params));
}

asio::awaitable<void> page::set_user_agent(std::string user_agent) {
    json params = {{"userAgent", user_agent}};
    co_await send("Network.setUserAgentOverride", std::move(params));
}

asio::awaitable<void> page::set_viewport(viewport v) {
    json params = {{"width", v.width},
                   {"height", v.height},
                   {"deviceScaleFactor", v.device_scale_factor},
                   {"mobile", v.mobile}};
    co_await send("Emulation.setDeviceMetricsOverride", std::move(params));
}

asio::awaitable<void> page::block(block_options options) {
    if (!options.url_patterns.empty()) {
        json params = {{"urls", options.url_patterns}};
        co_await send("Network.setBlockedURLs", std::move(params));
    }
    if (!options.types.empty()) {
        // Fail paused requests of the blocked types at once, from the I/O thread.
        std::weak_ptr<client> weak = client_;
        event_handlers handlers;
        handlers.on_event = [weak, session = session_id_, counter = blocked_](const json& e) {
            auto c = weak.lock();
            if (!c) return;
            ++*counter;
            json params = {{"requestId", e.value("requestId", std::string())},
                           {"errorReason", "BlockedByClient"}};
            c->async_call("Fetch.failRequest", std::move(params), session, milliseconds(5000),
                          [](std::exception_ptr, json) {});
        };
        fetch_paused_ = client_->subscribe(session_id_, "Fetch.requestPaused", std::move(handlers));
        json patterns = json::array();
        for (auto t : options.types) {
            patterns.push_back({{"urlPattern", "*"},
                                {"resourceType", cdp_resource_type(t)},
                                {"requestStage", "Request"}});
        }
        json params = {{"patterns", std::move(patterns)}};
        co_await send("Fetch.enable", std::move(params));
    }
}

asio::awaitable<std::string> page::screenshot() {
    json params = {{"format", "png"}};
    json shot = co_await send("Page.captureScreenshot", std::move(params));
    if (!shot.contains("data") || !shot["data"].is_string()) {
        throw error(errc::malformed_response, "Page.captureScreenshot: reply has no data");
    }
    co_return decode_base64(shot["data"].get_ref<const std::string&>());
}

asio::awaitable<void> page::close(milliseconds timeout) {
    {
        std::lock_guard lock(end_->mutex);
        if (end_->why && end_->why->kind() != errc::target_crashed) co_return;
    }
    // Target.closeTarget answers before the target is gone; wait for targetDestroyed (sent
    // to the browser session, discovery is on) so that a closed page is really closed.
    event_waiter destroyed(client_, "", "Target.targetDestroyed");
    json params = {{"targetId", target_id_}};
    bool closing = true;
    try {
        co_await client_->async_call("Target.closeTarget", std::move(params), "", timeout,
                                     use_awaitable);
    } catch (const error& e) {
        // Already gone (crashed and discarded, or the browser is closing): nothing to close.
        if (e.kind() != errc::protocol_error && e.kind() != errc::browser_closed) throw;
        closing = false;
    }
    if (closing) {
        event_waiter::predicate is_ours = [id = target_id_](const json& e) {
            return e.value("targetId", std::string()) == id;
        };
        std::string label = "close page " + target_id_ + " (waiting for targetDestroyed)";
        try {
            co_await destroyed.async_wait(std::move(is_ours), timeout, std::move(label),
                                          use_awaitable);
        } catch (const error& e) {
            if (e.kind() != errc::browser_closed) throw;
        }
    }
    {
        std::lock_guard lock(end_->mutex);
        end_->why = error(errc::target_closed, "page closed");
    }
    // Fails whatever is still in flight on this page and drops its subscriptions.
    client_->end_session(session_id_, errc::target_closed, "page closed");
}

} // namespace rotor::cdp

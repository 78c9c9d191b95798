#include "cdp/page.hpp"

#include "cdp/event_waiter.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace rotor::cdp {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

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

} // namespace

std::string_view protocol_name(resource_type t) {
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
                                {"resourceType", protocol_name(t)},
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

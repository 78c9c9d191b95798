// page::navigate: Page.navigate, the lifecycle event of its loader, and its document's response.
#include "cdp/event_waiter.hpp"
#include "cdp/page.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace rotor::cdp {

namespace asio = boost::asio;
using asio::use_awaitable;

namespace {

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

asio::awaitable<navigation_result> page::navigate(std::string url, navigate_options options) {
    if (navigation_guard_) {
        if (std::string why = navigation_guard_(url); !why.empty()) {
            throw error(errc::navigation_failed, "navigate " + url + ": refused: " + why);
        }
    }
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + options.timeout;
    auto left = [&] {
        return std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(
                                             deadline - std::chrono::steady_clock::now()));
    };
    const std::string what = "navigate " + url;

    // Subscribe before navigating so no event of this navigation is missed.
    event_waiter lifecycle(client_, session_id_, "Page.lifecycleEvent");
    // Only document responses are kept: on a page with hundreds of subresources the waiter's
    // buffer would drop the oldest events, this navigation's own response first. The loaderId
    // that picks ours among them is known only from Page.navigate's reply, which may come after
    // the response, hence a filter by type here and the match by requestId below.
    event_waiter::predicate is_document_type = [](const json& e) {
        auto type = e.find("type");
        return type != e.end() && type->is_string() &&
               type->get_ref<const std::string&>() == "Document";
    };
    event_waiter response(client_, session_id_, "Network.responseReceived",
                          std::move(is_document_type));

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
    forget_global_object(""); // a new document has a new globalThis
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

} // namespace rotor::cdp

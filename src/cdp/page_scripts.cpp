// Running script in a page: evaluation, function calls, waits for a condition.
#include "cdp/page.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>

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

std::string exception_text(const json& details) {
    if (auto ex = details.find("exception"); ex != details.end() && ex->is_object()) {
        if (auto d = ex->find("description"); d != ex->end() && d->is_string())
            return d->get<std::string>();
        if (auto v = ex->find("value"); v != ex->end()) return v->dump();
    }
    return details.value("text", std::string("uncaught exception"));
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

// The value of a Runtime.evaluate / Runtime.callFunctionOn reply (returnByValue).
json script_value(json& reply, const std::string& what) {
    if (auto details = reply.find("exceptionDetails"); details != reply.end()) {
        throw error(errc::evaluation_failed, what + ": " + exception_text(*details));
    }
    auto result = reply.find("result");
    if (result == reply.end() || !result->is_object()) {
        throw error(errc::malformed_response, what + ": reply has no result: " + reply.dump());
    }
    auto value = result->find("value");
    return value != result->end() ? std::move(*value) : json(nullptr);
}

// Chromium's answers when an objectId names nothing any more (its document is gone): the
// function did not run, so the call is made again with a fresh handle.
bool is_stale_handle(const error& e) {
    const std::string_view what = e.what();
    return e.kind() == errc::protocol_error &&
           (what.find("Could not find object with given id") != std::string_view::npos ||
            what.find("Cannot find context with specified id") != std::string_view::npos);
}

} // namespace

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
    co_return script_value(reply, "evaluate `" + excerpt(expression) + "`");
}

asio::awaitable<json> page::call_function(std::string function_declaration,
                                          evaluate_options options) {
    std::string expression = "(" + function_declaration + ")()";
    co_return co_await evaluate(std::move(expression), options);
}

// Runtime.callFunctionOn needs an objectId or an executionContextId. Tracking the main world's
// context id would take Runtime.enable (a stream of console and context events on every page,
// and a well-known automation tell), and Page.createIsolatedWorld gives a world that does not
// see the page's own globals. So the call runs on a handle to the page's globalThis, fetched
// once per document with Runtime.evaluate and cached: one extra round trip after each
// navigation, none for later calls. A handle whose document is gone (also after a navigation
// the page did by itself) is refused by Chromium before anything runs; it is fetched again and
// the call made once more. The arguments travel as CallArgument values, never as script text.
asio::awaitable<std::string> page::global_object(milliseconds timeout) {
    std::string cached;
    {
        std::lock_guard lock(global_->mutex);
        cached = global_->object_id;
    }
    if (!cached.empty()) co_return cached;
    json params = {
        {"expression", "globalThis"}, {"objectGroup", "rotor-global"}, {"returnByValue", false}};
    json reply = co_await client_->async_call("Runtime.evaluate", std::move(params), session_id_,
                                              timeout, use_awaitable);
    const auto result = reply.find("result");
    if (result == reply.end() || !result->is_object() || !result->contains("objectId") ||
        !(*result)["objectId"].is_string()) {
        throw error(errc::malformed_response,
                    "Runtime.evaluate globalThis: reply has no objectId: " + reply.dump());
    }
    std::string id = (*result)["objectId"].get<std::string>();
    {
        std::lock_guard lock(global_->mutex);
        global_->object_id = id;
    }
    co_return id;
}

void page::forget_global_object(const std::string& object_id) const {
    std::lock_guard lock(global_->mutex);
    if (object_id.empty() || global_->object_id == object_id) global_->object_id.clear();
}

asio::awaitable<json> page::call_function(std::string function_declaration, json arguments,
                                          evaluate_options options) {
    const std::string what = "call `" + excerpt(function_declaration) + "`";
    if (!arguments.is_array()) {
        throw error(errc::invalid_argument, what + ": arguments must be a JSON array, not " +
                                                std::string(arguments.type_name()));
    }
    json call_arguments = json::array();
    for (auto& argument : arguments) {
        json wrapped = json::object();
        wrapped["value"] = std::move(argument);
        call_arguments.push_back(std::move(wrapped));
    }
    const auto deadline = std::chrono::steady_clock::now() + options.timeout;
    auto left = [&] {
        return std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(
                                             deadline - std::chrono::steady_clock::now()));
    };
    json reply;
    std::optional<error> failed;
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::string object;
        failed.reset();
        try {
            object = co_await global_object(left());
            json params = {{"functionDeclaration", function_declaration},
                           {"objectId", object},
                           {"arguments", call_arguments},
                           {"returnByValue", true},
                           {"awaitPromise", options.await_promise}};
            reply = co_await client_->async_call("Runtime.callFunctionOn", std::move(params),
                                                 session_id_, left(), use_awaitable);
        } catch (const error& e) {
            failed = e;
        }
        if (!failed || !is_stale_handle(*failed)) break;
        forget_global_object(object);
    }
    if (failed) {
        if (failed->kind() == errc::timeout) {
            terminate_script();
            throw error(errc::timeout, what + ": timeout after " +
                                           std::to_string(options.timeout.count()) +
                                           " ms (script terminated)");
        }
        throw error(failed->kind(), what + ": " + failed->what());
    }
    co_return script_value(reply, what);
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

} // namespace rotor::cdp

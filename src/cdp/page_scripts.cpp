// Running script in a page: evaluation, function calls, waits for a condition.
#include "cdp/page.hpp"

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

} // namespace rotor::cdp

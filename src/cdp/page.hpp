#pragma once
// One page (a target attached as a flattened session): navigation with wait conditions and the
// document's HTTP status, evaluation, waits, request shaping, screenshots.
//
// Every coroutine may be awaited from any executor and from many threads at once; each throws
// cdp::error for expected failures (timeout, crash, closed, net::ERR_*, a script exception).
// Coroutines take their arguments by value (a reference would dangle once the awaitable
// outlives the caller's temporaries).

#include "cdp/client.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace rotor::cdp {

struct page_profile_state; // page_profile.hpp

enum class wait_until {
    commit,             // Page.navigate answered: the response is committed
    dom_content_loaded, // DOMContentLoaded of this navigation
    load,               // the load event of this navigation
    network_idle,       // no network activity for 500 ms after load started
};

struct navigate_options {
    wait_until wait = wait_until::load;
    milliseconds timeout{30000}; // for the whole navigation, including the wait
    std::string referrer;
};

struct navigation_result {
    int status = 0;  // HTTP status of the main document (0 if none was seen)
    std::string url; // final URL after redirects
    std::string mime_type;
    std::string loader_id;
};

struct evaluate_options {
    bool await_promise = true;   // wait for a returned promise to settle
    milliseconds timeout{10000}; // after it, the script is terminated (Runtime.terminateExecution)
};

enum class resource_type { image, font, media, stylesheet, script, xhr, fetch, other };

struct block_options {
    std::vector<resource_type> types;      // failed with BlockedByClient through Fetch
    std::vector<std::string> url_patterns; // Network.setBlockedURLs patterns ("*.png", ...)
};

struct viewport {
    int width = 1280;
    int height = 800;
    double device_scale_factor = 1.0;
    bool mobile = false;
};

class page : public std::enable_shared_from_this<page> {
  public:
    /// Attaches to an existing target and enables what navigation needs. Use
    /// browser::new_page / browser_context::new_page rather than this.
    static boost::asio::awaitable<std::shared_ptr<page>> attach(std::shared_ptr<client> c,
                                                                std::string target_id,
                                                                std::string context_id,
                                                                milliseconds command_timeout);
    ~page();
    page(const page&) = delete;
    page& operator=(const page&) = delete;

    const std::string& target_id() const noexcept { return target_id_; }
    const std::string& session_id() const noexcept { return session_id_; }
    const std::string& context_id() const noexcept { return context_id_; }
    /// The client this page's session runs on, and its default command deadline.
    const std::shared_ptr<client>& cdp() const noexcept { return client_; }
    milliseconds command_timeout() const noexcept { return command_timeout_; }

    /// Navigates and waits for `options.wait`. Throws navigation_failed for net::ERR_*
    /// ("navigate URL: net::ERR_CONNECTION_REFUSED"), timeout ("navigate URL: timeout after N
    /// ms (waiting for load)"), target_crashed/closed, browser_closed. An HTTP error status is
    /// not an exception: it is in the result and the page content stays readable.
    boost::asio::awaitable<navigation_result> navigate(std::string url, navigate_options options);
    // Not coroutines: GCC 12 destroys a coroutine's default-argument temporaries twice, so the
    // defaults are filled in by these plain wrappers.
    boost::asio::awaitable<navigation_result> navigate(std::string url) {
        return navigate(std::move(url), navigate_options{});
    }

    /// Evaluates an expression in the page and returns its value (by value, JSON). Throws
    /// evaluation_failed with the exception text, or timeout (the script is terminated).
    boost::asio::awaitable<json> evaluate(std::string expression, evaluate_options options);
    boost::asio::awaitable<json> evaluate(std::string expression) {
        return evaluate(std::move(expression), evaluate_options{});
    }
    /// Calls a function declaration such as "async () => document.title".
    boost::asio::awaitable<json> call_function(std::string function_declaration,
                                               evaluate_options options);
    boost::asio::awaitable<json> call_function(std::string function_declaration) {
        return call_function(std::move(function_declaration), evaluate_options{});
    }
    /// Calls a function declaration such as "(selector, limit) => ..." with `arguments`, a JSON
    /// array whose elements are passed as data (Runtime.callFunctionOn arguments, never pasted
    /// into script source); `this` is globalThis. Returns the value by value, awaiting a returned
    /// promise when options.await_promise. Throws invalid_argument (arguments not an array, a
    /// string not valid UTF-8), evaluation_failed with the exception text, timeout (the script
    /// is terminated), and the session's end.
    boost::asio::awaitable<json> call_function(std::string function_declaration, json arguments,
                                               evaluate_options options);
    boost::asio::awaitable<json> call_function(std::string function_declaration, json arguments) {
        return call_function(std::move(function_declaration), std::move(arguments),
                             evaluate_options{});
    }
    /// Waits until `expression` is truthy, checked in the page on DOM mutations (and every
    /// 50 ms for state a mutation does not show); returns its value. Throws timeout.
    boost::asio::awaitable<json> wait_for_function(std::string expression, milliseconds timeout);
    /// Waits until document.querySelector(selector) finds an element. Throws timeout.
    boost::asio::awaitable<void> wait_for_selector(std::string selector, milliseconds timeout);
    /// document.documentElement.outerHTML
    boost::asio::awaitable<std::string> content();

    boost::asio::awaitable<void> set_extra_headers(std::map<std::string, std::string> headers);
    boost::asio::awaitable<void> set_user_agent(std::string user_agent);
    boost::asio::awaitable<void> set_viewport(viewport v);
    /// Blocks resource types and URL patterns for the rest of this page's life.
    boost::asio::awaitable<void> block(block_options options);
    /// PNG bytes of the viewport.
    boost::asio::awaitable<std::string> screenshot();

    /// Any command on this page's session.
    boost::asio::awaitable<json> send(std::string method, json params, milliseconds timeout);
    boost::asio::awaitable<json> send(std::string method, json params = json::object()) {
        return send(std::move(method), std::move(params), command_timeout_);
    }

    /// Closes the target (Target.closeTarget) and waits up to `timeout` for targetDestroyed; the
    /// session's subscriptions are dropped. Throws errc::timeout when the target outlives it.
    boost::asio::awaitable<void> close(milliseconds timeout);
    boost::asio::awaitable<void> close() { return close(command_timeout_); }
    /// Set once the renderer crashed or the target went away; says why.
    std::optional<error> ended() const;
    /// The number of blocked requests so far (resource types through Fetch).
    std::uint64_t blocked_requests() const noexcept { return blocked_->load(); }

    /// apply_profile's hook (page_profile.hpp): `state` lives as long as this page, and
    /// navigate() asks `guard(url)` first: a non-empty answer refuses the URL (navigation_failed)
    /// before anything is sent. Call before the first navigation; not thread-safe against one.
    void set_profile(std::shared_ptr<page_profile_state> state,
                     std::function<std::string(const std::string& url)> guard) {
        profile_ = std::move(state);
        navigation_guard_ = std::move(guard);
    }
    const std::shared_ptr<page_profile_state>& profile() const noexcept { return profile_; }

  private:
    page(std::shared_ptr<client> c, std::string target_id, std::string session_id,
         std::string context_id, milliseconds command_timeout);
    void terminate_script() const;
    boost::asio::awaitable<std::string> global_object(milliseconds timeout);
    void forget_global_object(const std::string& object_id) const;

    std::shared_ptr<client> client_;
    std::string target_id_;
    std::string session_id_;
    std::string context_id_;
    milliseconds command_timeout_;
    subscription lifecycle_watch_;
    subscription fetch_paused_;
    struct end_state {
        mutable std::mutex mutex;
        std::optional<error> why;
    };
    std::shared_ptr<end_state> end_ = std::make_shared<end_state>();
    struct global_handle {
        mutable std::mutex mutex;
        std::string object_id; // globalThis of the current document ("" until fetched)
    };
    std::shared_ptr<global_handle> global_ = std::make_shared<global_handle>();
    std::shared_ptr<std::atomic<std::uint64_t>> blocked_ =
        std::make_shared<std::atomic<std::uint64_t>>(0);
    std::shared_ptr<page_profile_state> profile_;
    std::function<std::string(const std::string&)> navigation_guard_;
};

std::string_view to_string(wait_until w);
std::string_view to_string(resource_type t);
/// The protocol's name of a resource type (Network.ResourceType: "Image", "Font", ...).
std::string_view protocol_name(resource_type t);

} // namespace rotor::cdp

#pragma once
// Errors of the CDP client: an errc enum with its category (so callers can compare codes), and
// one exception type that carries the code plus a message naming what failed with what input.

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <type_traits>

namespace rotor::cdp {

enum class errc {
    timeout = 1,        // a command or a wait passed its deadline
    protocol_error,     // Chromium answered the command with error.code/message
    browser_closed,     // the websocket closed or the browser process exited
    target_crashed,     // the renderer of this page crashed (Inspector/Target.targetCrashed)
    target_closed,      // the page or its session went away (detached, closed)
    navigation_failed,  // Page.navigate reported net::ERR_* (errorText)
    evaluation_failed,  // the page's JavaScript threw or rejected
    launch_failed,      // Chromium did not start or did not publish DevToolsActivePort
    connect_failed,     // the DevTools websocket could not be opened
    malformed_response, // a reply did not have the shape the method promises
    invalid_profile,    // a page profile names a host, pattern or cookie that cannot apply
    invalid_argument,   // the command cannot be sent as given (e.g. a string is not valid UTF-8)
    reply_too_large,    // the reply was larger than the client's max_message_bytes (dropped)
};

const boost::system::error_category& cdp_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), cdp_category()};
}

/// The exception every coroutine of rotor::cdp throws for an expected failure.
/// `code()` compares equal to an `errc`; `what()` names the method/URL and the cause.
class error : public boost::system::system_error {
  public:
    error(errc e, std::string what)
        : boost::system::system_error(make_error_code(e)), message_(std::move(what)) {}
    errc kind() const noexcept { return static_cast<errc>(code().value()); }
    /// The message alone (system_error would append the category's text).
    const char* what() const noexcept override { return message_.c_str(); }

  private:
    std::string message_;
};

} // namespace rotor::cdp

namespace boost::system {
template <> struct is_error_code_enum<rotor::cdp::errc> : std::true_type {};
} // namespace boost::system

#pragma once
// Routes that make a browser reach a URL it is given: through a redirect, an iframe, a
// subresource or a dedicated worker. Tests of host policies point them at a second shop bound to
// another loopback address and read that shop's /__stats to see whether it was reached.

#include <optional>
#include <string>
#include <string_view>

namespace rotor::fixture {

struct probe_reply {
    std::string route;        // stats bucket
    int status = 200;         // 200, 302 or 400
    std::string body;         // HTML or JavaScript
    std::string content_type; // "text/html; charset=utf-8", ...
    std::string location;     // the 302's target
};

/// The reply for `path` with its raw `query` if it is a probe route (/redirect-to, /frame,
/// /subresource, /worker, /worker.js), else nothing. A probe route without its url/src
/// parameter answers 400 naming the missing parameter. Pure; callable from any thread.
std::optional<probe_reply> probe_route(std::string_view path, std::string_view query);

/// The value of `name` in a query string, percent-decoded ('+' is a space); nothing if absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

} // namespace rotor::fixture

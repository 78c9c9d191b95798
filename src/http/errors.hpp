#pragma once
// Why a transfer produced no response. An HTTP error status is not one of these: it is a
// response (the caller decides what a 404 or a 503 means).

#include <stdexcept>
#include <string>
#include <system_error>

namespace rotor::http {

enum class errc {
    timeout = 1,     // no complete response within the request's timeout
    refused,         // the URL's scheme or the address its host resolves to is not allowed
    resolve_failed,  // the host name did not resolve
    connect_failed,  // no connection (refused, unreachable, TLS handshake failed)
    transfer_failed, // the connection broke mid-transfer, or the response was malformed
    too_large,       // the body exceeded the request's max_body
    shut_down,       // the client is being destroyed
};

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

class error : public std::runtime_error {
  public:
    error(errc kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    errc kind() const noexcept { return kind_; }

  private:
    errc kind_;
};

} // namespace rotor::http

template <> struct std::is_error_code_enum<rotor::http::errc> : std::true_type {};

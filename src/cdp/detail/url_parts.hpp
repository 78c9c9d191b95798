#pragma once
// Splitting a URL the way Chromium's parser would see it, for policy checks only: the scheme, the
// canonical host (IPv4 in any WHATWG notation becomes dotted decimal, IPv6 becomes RFC 5952 text
// in brackets) and the effective port. Pure; no I/O, no DNS.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace rotor::cdp::detail {

struct ipv4 {
    std::uint32_t value = 0; // host byte order
};
struct ipv6 {
    std::array<std::uint8_t, 16> bytes{};
};
using ip_address = std::variant<std::monostate, ipv4, ipv6>; // monostate: a name

struct url_parts {
    std::string scheme;   // lower case, without ':'
    std::string host;     // canonical: lower case, no trailing dot; "[v6]" for IPv6; "" if none
    ip_address address;   // the host as an address, when it is one
    int port = -1;        // the effective port (the scheme's default when none is given); -1: none
    bool special = false; // http, https, ws or wss: the schemes that have a host
};

/// Parses `url`; on failure says why ("no scheme", "bad port 99999", ...). Hosts of the special
/// schemes are percent-decoded, lower-cased and IP literals canonicalized as Chromium does, so
/// "http://0xA9.254.169.254/" has host "169.254.169.254". Non-ASCII hosts are refused (give
/// punycode): deciding IDNA here would be a second, diverging parser.
std::variant<url_parts, std::string> parse_url(std::string_view url);

/// A host as rules and URLs spell it ("Shop.Example.", "127.1", "[::FFFF:1.2.3.4]") made
/// canonical; with the address it stands for. On failure says why.
std::variant<std::pair<std::string, ip_address>, std::string> canonical_host(std::string_view host);

std::optional<ipv4> parse_ipv4(std::string_view host); // WHATWG: 1-4 parts, 0x / 0 prefixes
std::optional<ipv6> parse_ipv6(std::string_view text); // without brackets
std::string to_string(const ipv4& a);
std::string to_string(const ipv6& a); // RFC 5952, without brackets
/// The IPv4 address an IPv6 one embeds (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96 but
/// :: and ::1, NAT64 64:ff9b::/96), if any.
std::optional<ipv4> embedded_ipv4(const ipv6& a);

} // namespace rotor::cdp::detail

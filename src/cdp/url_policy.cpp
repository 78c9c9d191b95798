#include "cdp/url_policy.hpp"

#include "cdp/detail/url_parts.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace rotor::cdp {
namespace {

using detail::ip_address;
using detail::ipv4;
using detail::ipv6;

enum class host_class { public_host, private_host, refused };

struct classified {
    host_class kind = host_class::public_host;
    std::string what; // "a link-local address (169.254.0.0/16)"
};

constexpr std::array metadata_names = {"metadata.google.internal", "metadata.goog", "metadata",
                                       "instance-data", "instance-data.ec2.internal"};

bool in_v4(std::uint32_t a, std::uint32_t net, int bits) {
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (a & mask) == net;
}

std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

classified classify(const ipv4& address) {
    const std::uint32_t a = address.value;
    if (in_v4(a, 0, 8)) return {host_class::refused, "an unspecified address (0.0.0.0/8)"};
    if (in_v4(a, v4(169, 254, 0, 0), 16)) {
        return {host_class::refused, "a link-local address (169.254.0.0/16, cloud metadata)"};
    }
    if (a == v4(100, 100, 100, 200)) return {host_class::refused, "a cloud metadata address"};
    if (in_v4(a, v4(224, 0, 0, 0), 4)) return {host_class::refused, "a multicast address"};
    if (in_v4(a, v4(240, 0, 0, 0), 4)) {
        return {host_class::refused, "a reserved or broadcast address (240.0.0.0/4)"};
    }
    if (in_v4(a, v4(127, 0, 0, 0), 8)) return {host_class::private_host, "a loopback address"};
    if (in_v4(a, v4(10, 0, 0, 0), 8) || in_v4(a, v4(172, 16, 0, 0), 12) ||
        in_v4(a, v4(192, 168, 0, 0), 16)) {
        return {host_class::private_host, "a private address (RFC 1918)"};
    }
    if (in_v4(a, v4(100, 64, 0, 0), 10)) {
        return {host_class::private_host, "a shared address (100.64.0.0/10)"};
    }
    return {};
}

classified classify(const ipv6& address) {
    const auto& b = address.bytes;
    const bool zero_prefix = std::all_of(b.begin(), b.begin() + 15, [](auto x) { return x == 0; });
    if (zero_prefix && b[15] == 0) return {host_class::refused, "the unspecified address (::)"};
    if (zero_prefix && b[15] == 1) return {host_class::private_host, "the loopback address"};
    if (auto embedded = detail::embedded_ipv4(address)) {
        return {host_class::refused,
                "an IPv6 form of IPv4 address " + to_string(*embedded) + " (give it as IPv4)"};
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
        return {host_class::refused, "a link-local address (fe80::/10)"};
    }
    if (b[0] == 0xff) return {host_class::refused, "a multicast address (ff00::/8)"};
    if (to_string(address) == "fd00:ec2::254") {
        return {host_class::refused, "a cloud metadata address"};
    }
    if ((b[0] & 0xfe) == 0xfc) {
        return {host_class::private_host, "a unique local address (fc00::/7)"};
    }
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) {
        return {host_class::private_host, "a site-local address (fec0::/10)"};
    }
    return {};
}

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

classified classify(const std::string& host, const ip_address& address) {
    if (const auto* a = std::get_if<ipv4>(&address)) return classify(*a);
    if (const auto* a = std::get_if<ipv6>(&address)) return classify(*a);
    for (std::string_view name : metadata_names) {
        if (host == name) return {host_class::refused, "a cloud metadata host"};
    }
    if (host == "localhost" || ends_with(host, ".localhost")) {
        return {host_class::private_host, "a loopback name"};
    }
    return {};
}

std::string with_port(const std::string& host, int port) {
    return port < 0 ? host : host + ":" + std::to_string(port);
}

// Parses one allowed_hosts entry; on failure, why.
std::variant<url_policy::rule, std::string> parse_rule(std::string_view text) {
    const std::string quoted = "allowed_hosts entry \"" + std::string(text) + "\"";
    if (text.empty()) return quoted + ": empty";
    if (text.find('/') != std::string_view::npos) {
        return quoted + ": a host, *.domain or host:port, not a URL";
    }
    url_policy::rule r;
    std::string_view host = text;
    if (host.substr(0, 2) == "*.") {
        r.wildcard = true;
        host.remove_prefix(2);
    } else if (host.find('*') != std::string_view::npos) {
        return quoted + ": '*' only as a leading \"*.\" (an empty list allows every host)";
    }
    std::string_view port;
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        if (close != std::string_view::npos && close + 1 < host.size()) {
            if (host[close + 1] != ':') return quoted + ": bad port";
            port = host.substr(close + 2);
            host = host.substr(0, close + 1);
            if (port.empty()) return quoted + ": bad port";
        }
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        if (host.find(':', colon + 1) != std::string_view::npos) {
            return quoted + ": an IPv6 address needs brackets ([::1], [::1]:8080)";
        }
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
        if (port.empty()) return quoted + ": bad port";
    }
    if (!port.empty()) {
        if (port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return quoted + ": bad port";
        }
        r.port = std::stoi(std::string(port));
        if (r.port < 1 || r.port > 65535) return quoted + ": bad port";
    }
    auto canonical = detail::canonical_host(host);
    if (auto* why = std::get_if<std::string>(&canonical)) return quoted + ": " + *why;
    auto& [name, address] = std::get<std::pair<std::string, ip_address>>(canonical);
    r.ip = !std::holds_alternative<std::monostate>(address);
    if (r.wildcard && r.ip) return quoted + ": \"*.\" needs a domain, not an address";
    if (!r.wildcard) {
        const classified c = classify(name, address);
        if (c.kind == host_class::refused) {
            return quoted + ": " + name + " is " + c.what + ", which is always refused";
        }
    }
    r.host = std::move(name);
    return r;
}

bool matches(const url_policy::rule& r, const detail::url_parts& url) {
    if (r.port >= 0 && r.port != url.port) return false;
    if (!r.wildcard) return url.host == r.host;
    return std::holds_alternative<std::monostate>(url.address) && url.host.size() > r.host.size() &&
           ends_with(url.host, "." + r.host);
}

// The host as a URLPattern hostname: IPv6 colons escaped, so "[::1]" reads "[\:\:1]".
std::string pattern_host(const url_policy::rule& r) {
    std::string out = r.wildcard ? "*." : "";
    for (char c : r.host) {
        if (c == ':') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

// Where a URL's host starts, as prefixes of what follows "scheme://" in Chromium's canonical
// form; a name is spelled out with what may follow it ('/' or ':', and its trailing-dot form).
std::vector<std::string> host_prefixes(bool include_private, bool for_documents) {
    // setBlockedURLs wildcards know only '*': every range is spelled out octet by octet.
    std::vector<std::string> out = {"169.254.",       "[::]", "[::ffff:", "[64:ff9b::",      "[fe8",
                                    "[fe9",           "[fea", "[feb",     "[fd00:ec2::254]", "[ff",
                                    "100.100.100.200"};
    for (int octet = 224; octet <= 255; ++octet) out.push_back(std::to_string(octet) + ".");
    // Documents are paused and then decided exactly, so a broader prefix only costs a round trip;
    // subresources are blocked outright, so "0." would also block 0.gravatar.com.
    out.emplace_back(for_documents ? "0." : "0.0.0.0");
    std::vector<std::string> names(metadata_names.begin(), metadata_names.end());
    if (include_private) {
        for (const char* p :
             {"127.", "10.", "192.168.", "[::1]", "[fc", "[fd", "[fec", "[fed", "[fee", "[fef"}) {
            out.emplace_back(p);
        }
        for (int octet = 16; octet <= 31; ++octet)
            out.push_back("172." + std::to_string(octet) + ".");
        for (int octet = 64; octet <= 127; ++octet)
            out.push_back("100." + std::to_string(octet) + ".");
        names.emplace_back("localhost");
        names.emplace_back("*.localhost");
    }
    for (const auto& name : names) {
        for (const char* tail : {"/", ":", "./", ".:"}) out.push_back(name + tail);
    }
    return out;
}

} // namespace

url_policy::url_policy(const std::vector<std::string>& allowed_hosts, url_policy_options options)
    : options_(options) {
    for (const auto& text : allowed_hosts) {
        auto parsed = parse_rule(text);
        if (auto* why = std::get_if<std::string>(&parsed)) throw std::invalid_argument(*why);
        auto r = std::get<rule>(std::move(parsed));
        // A wildcard that covers a metadata name ("*.internal", "*.goog") would let subresources
        // and WebSockets reach it through the allow rules and the proxy bypass list.
        if (r.wildcard) {
            for (std::string_view name : metadata_names) {
                const std::string suffix = "." + r.host;
                if (name.size() > suffix.size() &&
                    name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                    throw std::invalid_argument("allowed host " + text +
                                                " covers the cloud metadata host " +
                                                std::string(name));
                }
            }
        }
        rules_.push_back(std::move(r));
    }
}

url_check url_policy::check_address(std::string_view url, std::string_view address) const {
    auto parsed = detail::parse_url(url);
    if (auto* why = std::get_if<std::string>(&parsed)) return {false, "not a URL (" + *why + ")"};
    const auto& parts = std::get<detail::url_parts>(parsed);
    const std::string text(address);
    auto canonical =
        detail::canonical_host(text.find(':') != std::string::npos ? "[" + text + "]" : text);
    if (auto* why = std::get_if<std::string>(&canonical)) {
        return {false, parts.host + " resolved to " + text + ", not an address (" + *why + ")"};
    }
    const auto& [name, ip] = std::get<std::pair<std::string, ip_address>>(canonical);
    if (std::holds_alternative<std::monostate>(ip)) {
        return {false, parts.host + " resolved to " + text + ", not an address"};
    }
    const classified c = classify(name, ip);
    if (c.kind == host_class::refused) {
        return {false, parts.host + " resolved to " + name + ", " + c.what + ", always refused"};
    }
    if (c.kind == host_class::private_host && !options_.allow_private_addresses &&
        classify(parts.host, parts.address).kind != host_class::private_host) {
        return {false, parts.host + " resolved to " + name + ", " + c.what +
                           ": a public name may not lead to a private address (allow private "
                           "addresses if this host is internal)"};
    }
    return {true, {}};
}

url_check url_policy::check(std::string_view url) const {
    const std::string quoted = std::string(url.substr(0, 200)) + (url.size() > 200 ? "..." : "");
    auto parsed = detail::parse_url(url);
    if (auto* why = std::get_if<std::string>(&parsed)) {
        return {false, "not a URL (" + *why + "): " + quoted};
    }
    const auto& parts = std::get<detail::url_parts>(parsed);
    if (!parts.special) {
        if (parts.scheme == "about") {
            const std::string_view what =
                std::string_view(parts.host)
                    .substr(0, std::string_view(parts.host).find_first_of("?#"));
            if (what == "blank" || what == "srcdoc") return {true, {}};
        }
        return {false, "scheme " + parts.scheme +
                           ": is never allowed (only http, https, ws, wss): " + quoted};
    }
    const auto match = std::find_if(rules_.begin(), rules_.end(),
                                    [&](const rule& r) { return matches(r, parts); });
    const classified c = classify(parts.host, parts.address);
    if (c.kind == host_class::refused) {
        return {false, parts.host + " is " + c.what + ", always refused: " + quoted};
    }
    if (c.kind == host_class::private_host && !options_.allow_private_addresses &&
        match == rules_.end()) {
        return {false, parts.host + " is " + c.what +
                           " (list it in allowed_hosts or allow private addresses): " + quoted};
    }
    if (!rules_.empty() && match == rules_.end()) {
        std::string listed;
        for (const auto& r : rules_) {
            if (!listed.empty()) listed += ", ";
            listed += with_port((r.wildcard ? "*." : "") + r.host, r.port);
        }
        return {false, with_port(parts.host, parts.port) + " is not in allowed_hosts (" + listed +
                           "): " + quoted};
    }
    return {true, {}};
}

blocked_urls url_policy::blocked_url_rules(const std::vector<std::string>& block_patterns) const {
    blocked_urls out;
    for (const auto& p : block_patterns) out.url_patterns.push_back({p, true});
    if (rules_.empty()) {
        for (const auto& p : host_prefixes(!options_.allow_private_addresses, false)) {
            // With and without user info ("http://u@169.254.169.254/"): the wildcard is a
            // substring match, so "://169.254." alone misses a URL with credentials.
            out.wildcards.push_back("*://" + p + "*");
            out.wildcards.push_back("*://*@" + p + "*");
        }
        return out;
    }
    for (const auto& r : rules_) {
        const std::string host = pattern_host(r);
        if (r.port < 0) {
            out.url_patterns.push_back({"*://" + host + ":*/*", false});
            continue;
        }
        out.url_patterns.push_back({"*://" + host + ":" + std::to_string(r.port) + "/*", false});
        // A URL on the scheme's default port has no port for URLPattern to match.
        const char* defaults[2] = {nullptr, nullptr};
        if (r.port == 80) defaults[0] = "http", defaults[1] = "ws";
        if (r.port == 443) defaults[0] = "https", defaults[1] = "wss";
        for (const char* scheme : defaults) {
            if (scheme)
                out.url_patterns.push_back({std::string(scheme) + "://" + host + "/*", false});
        }
    }
    out.url_patterns.push_back({"*://*:*/*", true});
    return out;
}

std::vector<std::string> url_policy::document_pause_patterns() const {
    if (!rules_.empty()) return {"*"};
    std::vector<std::string> patterns;
    for (const auto& p : host_prefixes(!options_.allow_private_addresses, true)) {
        // With and without user info ("http://u@169.254.169.254/"), which navigations keep.
        patterns.push_back("*://" + p + "*");
        patterns.push_back("*://*@" + p + "*");
    }
    return patterns;
}

std::string url_policy::proxy_bypass_list() const {
    if (rules_.empty()) return {};
    std::string out = "<-loopback>";
    for (const auto& r : rules_) out += ";" + with_port((r.wildcard ? "*." : "") + r.host, r.port);
    return out;
}

url_check check_url(std::string_view url, const std::vector<std::string>& allowed_hosts,
                    url_policy_options options) {
    try {
        return url_policy(allowed_hosts, options).check(url);
    } catch (const std::invalid_argument& e) {
        return {false,
                std::string(e.what()) + " (checking " + std::string(url.substr(0, 200)) + ")"};
    }
}

std::string check_host_rule(std::string_view rule) {
    auto parsed = parse_rule(rule);
    if (auto* why = std::get_if<std::string>(&parsed)) return *why;
    return {};
}

} // namespace rotor::cdp

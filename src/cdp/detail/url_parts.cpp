#include "cdp/detail/url_parts.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace rotor::cdp::detail {
namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// WHATWG "forbidden domain code point" (C0 controls and DEL are checked separately).
bool forbidden_in_host(char c) {
    static constexpr std::string_view forbidden = " #%/:<>?@[\\]^|";
    return forbidden.find(c) != std::string_view::npos;
}

// One part of a WHATWG IPv4 address: decimal, 0x hex or 0-prefixed octal.
std::optional<std::uint64_t> ipv4_number(std::string_view part) {
    if (part.empty()) return std::nullopt;
    int radix = 10;
    if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
        radix = 16;
        part.remove_prefix(2);
    } else if (part.size() >= 2 && part[0] == '0') {
        radix = 8;
        part.remove_prefix(1);
    }
    std::uint64_t value = 0;
    for (char c : part) {
        const int d = hex_value(c);
        if (d < 0 || d >= radix) return std::nullopt;
        value = value * static_cast<std::uint64_t>(radix) + static_cast<std::uint64_t>(d);
        if (value > 0xffffffffULL) return value; // too big either way; stop before overflow
    }
    return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    for (;;) {
        const auto at = text.find(sep);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return parts;
        text.remove_prefix(at + 1);
    }
}

// WHATWG "ends in a number": the last label is digits, or 0x followed by hex digits.
bool ends_in_number(std::string_view host) {
    auto parts = split(host, '.');
    if (parts.back().empty()) {
        if (parts.size() == 1) return false;
        parts.pop_back();
    }
    const std::string_view last = parts.back();
    if (!last.empty() && std::all_of(last.begin(), last.end(), is_digit)) return true;
    if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
        return std::all_of(last.begin() + 2, last.end(), [](char c) { return hex_value(c) >= 0; });
    }
    return false;
}

std::string percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
            hex_value(text[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

int default_port(std::string_view scheme) {
    return scheme == "https" || scheme == "wss" ? 443 : 80;
}

} // namespace

std::optional<ipv4> parse_ipv4(std::string_view host) {
    auto parts = split(host, '.');
    if (parts.size() > 1 && parts.back().empty()) parts.pop_back();
    if (parts.empty() || parts.size() > 4) return std::nullopt;
    std::vector<std::uint64_t> numbers;
    for (auto part : parts) {
        auto n = ipv4_number(part);
        if (!n) return std::nullopt;
        numbers.push_back(*n);
    }
    for (std::size_t i = 0; i + 1 < numbers.size(); ++i) {
        if (numbers[i] > 255) return std::nullopt;
    }
    const std::uint64_t limit = 1ULL << (8 * (5 - numbers.size()));
    if (numbers.back() >= limit) return std::nullopt;
    std::uint64_t value = numbers.back();
    for (std::size_t i = 0; i + 1 < numbers.size(); ++i) {
        value += numbers[i] << (8 * (3 - i));
    }
    return ipv4{static_cast<std::uint32_t>(value)};
}

std::optional<ipv6> parse_ipv6(std::string_view text) {
    std::array<std::uint16_t, 8> pieces{};
    int index = 0;
    int compress = -1;
    std::size_t i = 0;
    if (text.substr(0, 2) == "::") {
        i = 2;
        compress = 0;
    } else if (!text.empty() && text[0] == ':') {
        return std::nullopt;
    }
    while (i < text.size()) {
        if (index == 8) return std::nullopt;
        if (text[i] == ':') {
            if (compress >= 0) return std::nullopt;
            ++i;
            compress = index;
            continue;
        }
        std::uint32_t value = 0;
        std::size_t length = 0;
        while (length < 4 && i < text.size() && hex_value(text[i]) >= 0) {
            value = value * 16 + static_cast<std::uint32_t>(hex_value(text[i]));
            ++i;
            ++length;
        }
        if (i < text.size() && text[i] == '.') {
            // The last 32 bits in dotted decimal.
            if (length == 0 || index > 6) return std::nullopt;
            const std::string_view tail = text.substr(i - length);
            const auto octets = split(tail, '.');
            if (octets.size() != 4) return std::nullopt;
            std::uint32_t v4 = 0;
            for (auto o : octets) {
                if (o.empty() || o.size() > 3 || !std::all_of(o.begin(), o.end(), is_digit) ||
                    (o.size() > 1 && o[0] == '0')) {
                    return std::nullopt;
                }
                const int n = std::stoi(std::string(o));
                if (n > 255) return std::nullopt;
                v4 = v4 * 256 + static_cast<std::uint32_t>(n);
            }
            pieces[static_cast<std::size_t>(index++)] = static_cast<std::uint16_t>(v4 >> 16);
            pieces[static_cast<std::size_t>(index++)] = static_cast<std::uint16_t>(v4 & 0xffff);
            i = text.size();
            break;
        }
        if (length == 0) return std::nullopt;
        pieces[static_cast<std::size_t>(index++)] = static_cast<std::uint16_t>(value);
        if (i < text.size()) {
            if (text[i] != ':' || i + 1 == text.size()) return std::nullopt;
            ++i;
        }
    }
    if (compress >= 0) {
        int swaps = index - compress;
        index = 7;
        while (index != 0 && swaps > 0) {
            std::swap(pieces[static_cast<std::size_t>(index)],
                      pieces[static_cast<std::size_t>(compress + swaps - 1)]);
            --index;
            --swaps;
        }
    } else if (index != 8) {
        return std::nullopt;
    }
    ipv6 out;
    for (std::size_t p = 0; p < 8; ++p) {
        out.bytes[2 * p] = static_cast<std::uint8_t>(pieces[p] >> 8);
        out.bytes[2 * p + 1] = static_cast<std::uint8_t>(pieces[p] & 0xff);
    }
    return out;
}

std::string to_string(const ipv4& a) {
    return std::to_string(a.value >> 24) + "." + std::to_string((a.value >> 16) & 0xff) + "." +
           std::to_string((a.value >> 8) & 0xff) + "." + std::to_string(a.value & 0xff);
}

std::string to_string(const ipv6& a) {
    std::array<unsigned, 8> pieces{};
    for (std::size_t p = 0; p < 8; ++p) pieces[p] = (a.bytes[2 * p] << 8U) | a.bytes[2 * p + 1];
    // RFC 5952: compress the first longest run of two or more zero pieces.
    int best = -1;
    int best_length = 1;
    for (int p = 0; p < 8;) {
        int q = p;
        while (q < 8 && pieces[static_cast<std::size_t>(q)] == 0) ++q;
        if (q - p > best_length) {
            best = p;
            best_length = q - p;
        }
        p = q == p ? p + 1 : q;
    }
    std::string out;
    for (int p = 0; p < 8; ++p) {
        if (p == best) {
            out += "::";
            p += best_length - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out.push_back(':');
        char piece[8];
        std::snprintf(piece, sizeof piece, "%x", pieces[static_cast<std::size_t>(p)]);
        out += piece;
    }
    return out;
}

std::optional<ipv4> embedded_ipv4(const ipv6& a) {
    const auto& b = a.bytes;
    const auto zeros = [&](std::size_t from, std::size_t to) {
        return std::all_of(b.begin() + static_cast<long>(from), b.begin() + static_cast<long>(to),
                           [](std::uint8_t x) { return x == 0; });
    };
    const ipv4 tail{(std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) |
                    (std::uint32_t{b[14]} << 8) | b[15]};
    if (zeros(0, 10) && b[10] == 0xff && b[11] == 0xff) return tail; // ::ffff:0:0/96
    if (zeros(0, 12) && tail.value > 1) return tail;                 // ::/96 but :: and ::1
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zeros(4, 12)) return tail;
    return std::nullopt;
}

std::variant<std::pair<std::string, ip_address>, std::string>
canonical_host(std::string_view host) {
    if (host.empty()) return std::string("empty host");
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') return "bad IPv6 host " + std::string(host);
        auto v6 = parse_ipv6(host.substr(1, host.size() - 2));
        if (!v6) return "bad IPv6 address " + std::string(host);
        return std::pair<std::string, ip_address>{"[" + to_string(*v6) + "]", *v6};
    }
    std::string name = percent_decode(host);
    for (char& c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80)
            return "non-ASCII host " + std::string(host) + " (give it as punycode, xn--)";
        if (u < 0x20 || u == 0x7f || forbidden_in_host(c)) {
            return "bad character in host " + std::string(host);
        }
        c = lower(c);
    }
    if (ends_in_number(name)) {
        auto v4 = parse_ipv4(name);
        if (!v4) return "bad IPv4 address " + std::string(host);
        return std::pair<std::string, ip_address>{to_string(*v4), *v4};
    }
    if (name.back() == '.') name.pop_back();
    if (name.empty() || name.find("..") != std::string::npos || name.front() == '.') {
        return "bad host " + std::string(host);
    }
    return std::pair<std::string, ip_address>{std::move(name), std::monostate{}};
}

std::variant<url_parts, std::string> parse_url(std::string_view url) {
    // Chromium drops leading and trailing C0 controls and spaces, and tabs and newlines anywhere.
    std::string text;
    for (char c : url) {
        if (c != '\t' && c != '\n' && c != '\r') text.push_back(c);
    }
    const auto outer = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
    while (!text.empty() && outer(text.back())) text.pop_back();
    const auto first = std::find_if_not(text.begin(), text.end(), outer);
    const std::string_view s(text.data() + (first - text.begin()),
                             static_cast<std::size_t>(text.end() - first));
    if (s.empty()) return std::string("empty URL");
    const auto colon = s.find(':');
    if (colon == std::string_view::npos || colon == 0 || !is_alpha(s[0])) {
        return std::string("no scheme");
    }
    url_parts parts;
    for (char c : s.substr(0, colon)) {
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
            return std::string("no scheme");
        }
        parts.scheme.push_back(lower(c));
    }
    parts.special = parts.scheme == "http" || parts.scheme == "https" || parts.scheme == "ws" ||
                    parts.scheme == "wss";
    std::string_view rest = s.substr(colon + 1);
    if (!parts.special) {
        parts.host = std::string(rest); // opaque: what follows the scheme (about:blank -> blank)
        return parts;
    }
    while (!rest.empty() && (rest.front() == '/' || rest.front() == '\\')) rest.remove_prefix(1);
    std::string_view authority = rest.substr(0, rest.find_first_of("/\\?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority.remove_prefix(at + 1);
    }
    std::string_view host = authority;
    std::string_view port;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return "bad IPv6 host " + std::string(authority);
        host = authority.substr(0, close + 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return "bad host " + std::string(authority);
            port = after.substr(1);
            has_port = true;
        }
    } else if (const auto c = authority.find(':'); c != std::string_view::npos) {
        host = authority.substr(0, c);
        port = authority.substr(c + 1);
        has_port = true;
    }
    if (host.empty()) return std::string("no host");
    auto canonical = canonical_host(host);
    if (auto* why = std::get_if<std::string>(&canonical)) return *why;
    auto& [name, address] = std::get<std::pair<std::string, ip_address>>(canonical);
    parts.host = std::move(name);
    parts.address = address;
    parts.port = default_port(parts.scheme);
    if (has_port && !port.empty()) {
        if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit) ||
            std::stoi(std::string(port)) > 65535) {
            return "bad port " + std::string(port);
        }
        parts.port = std::stoi(std::string(port));
    }
    return parts;
}

} // namespace rotor::cdp::detail

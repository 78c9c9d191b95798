#pragma once
// Which URLs a page (or a fetch node) may reach: pure logic, no I/O and no DNS, so the same rules
// decide in unit tests, in a page's Fetch handler and before an HTTP fetch.
//
// Always refused, whatever the rules: schemes other than http, https, ws and wss (file:, chrome:,
// data:, javascript:, blob:, ...; about:blank and about:srcdoc are local and allowed);
// unspecified (0.0.0.0/8, ::), link-local (169.254.0.0/16, fe80::/10), multicast and reserved
// addresses; cloud metadata hosts (metadata.google.internal, metadata.goog, metadata,
// instance-data[.ec2.internal], 100.100.100.200, fd00:ec2::254); IPv6 literals that embed an
// IPv4 address (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::a.b.c.d: give the IPv4 address itself).
// Refused unless listed in allowed_hosts or allowed by allow_private_addresses: loopback
// (127.0.0.0/8, ::1, localhost, *.localhost), RFC 1918, 100.64.0.0/10, ULA (fc00::/7) and
// site-local (fec0::/10) addresses.
// A name is judged by its text: a public name that resolves to a private address is not caught
// here (Chromium resolves it later).

#include <string>
#include <string_view>
#include <vector>

namespace rotor::cdp {

struct url_policy_options {
    bool allow_private_addresses = false; // loopback, RFC 1918, CGNAT, ULA without listing them
};

struct url_check {
    bool allowed = false;
    std::string reason; // why it was refused, naming the URL and the rule ("" when allowed)
};

/// One Network.setBlockedURLs urlPatterns entry: URLPattern constructor syntax.
struct url_block_rule {
    std::string url_pattern; // "*://shop.example:*/*"
    bool block = true;       // false: allowed, even if a later rule would block it
};

/// Network.setBlockedURLs parameters. Chromium's URLPattern cannot spell an address range (its
/// hostname parts are canonicalized: "169.254.*" reads "169.0.0.254*", and it has no regular
/// expressions), so ranges are given as wildcards over the whole URL.
struct blocked_urls {
    std::vector<url_block_rule> url_patterns; // "urlPatterns": in order, first match decides
    std::vector<std::string> wildcards;       // "urls" ('*'): block, if no url_pattern matched
};

/// allowed_hosts compiled once. A rule is "shop.example" (that host, any port), "*.example.com"
/// (its subdomains, not example.com itself), "host:8080" (that port only; the scheme's default
/// port counts), "[::1]" or "[::1]:8080", or an IPv4 address in any notation. Matching is case-
/// insensitive and ignores a trailing dot. An empty list allows every host not refused above.
class url_policy {
  public:
    /// Throws std::invalid_argument naming the first unusable rule and why (a URL, "*", a bare
    /// IPv6 address, an always-refused address, a bad port).
    explicit url_policy(const std::vector<std::string>& allowed_hosts,
                        url_policy_options options = {});

    /// Whether `url` may be fetched or navigated to, with the reason when not. Thread-safe.
    url_check check(std::string_view url) const;

    /// Whether a connection for `url` may go to `address` (numeric: what its host resolved to),
    /// checked where the connection is opened (an HTTP client's socket callback). Refused
    /// always: the addresses check() refuses (link-local, metadata, unspecified, ...). Private
    /// ones (loopback, RFC 1918, CGNAT, ULA) only when the URL's host is itself a private
    /// address or a loopback name, or with allow_private_addresses: a public name that
    /// resolves to one is refused (DNS rebinding). Thread-safe.
    url_check check_address(std::string_view url, std::string_view address) const;

    /// setBlockedURLs rules that make Chromium refuse subresources without a round trip:
    /// `block_patterns` first (block), then, with hosts listed, an allow rule per host and a
    /// final block-all; with none, wildcards for the refused address ranges (private ones too
    /// unless allowed) and names. The wildcards match by prefix, so a name that starts like an
    /// address ("10.example.test") is blocked too; documents are decided exactly by check().
    blocked_urls blocked_url_rules(const std::vector<std::string>& block_patterns) const;

    /// Fetch.enable urlPattern wildcards ('*', '?') for Document requests that must be paused
    /// and checked: every document when hosts are listed, else only those whose URL may name a
    /// refused host (a superset; check() decides).
    std::vector<std::string> document_pause_patterns() const;

    /// A proxyBypassList for Target.createBrowserContext: the listed hosts in Chromium's bypass
    /// syntax after "<-loopback>", so that with a dead proxy every other host (WebSockets
    /// included) fails in the network stack. Empty when no hosts are listed.
    std::string proxy_bypass_list() const;

    bool restricts_hosts() const noexcept { return !rules_.empty(); }

    struct rule {
        std::string host; // canonical; for a wildcard the suffix without "*."
        bool wildcard = false;
        bool ip = false;
        int port = -1; // -1: any
    };

  private:
    std::vector<rule> rules_;
    url_policy_options options_;
};

/// check_url(url, hosts, options) == url_policy(hosts, options).check(url), except that an
/// unusable rule refuses (reason names it) instead of throwing.
url_check check_url(std::string_view url, const std::vector<std::string>& allowed_hosts,
                    url_policy_options options = {});

/// "" when `rule` is a usable allowed_hosts entry, else why not.
std::string check_host_rule(std::string_view rule);

} // namespace rotor::cdp

#pragma once
// A page profile: what a lease's pages send (headers, user agent, cookies, viewport) and what they
// may reach (resource types, URL patterns, hosts), applied to a page before its first navigation
// and to everything it opens (iframes, dedicated and service workers).
//
// How each rule is enforced, cheapest first (see docs/ARCHITECTURE.md, "Page profile"):
// - hosts and block_url_patterns for subresources: Network.setBlockedURLs rules that Chromium
//   applies itself (allow rules for the listed hosts, then block-all): no round trip;
// - documents (main frame, iframes, every redirect hop): paused through Fetch (Document only) and
//   failed with BlockedByClient when url_policy refuses them: one round trip per document;
//   setBlockedURLs does not stop navigations;
// - block_types: paused through Fetch for those types only, and failed;
// - navigate() itself: refused before anything is sent;
// - WebSockets are neither blocked by setBlockedURLs nor seen by Fetch: only a context made by
//   create_profile_context (a dead proxy that the listed hosts bypass) stops them.

#include "cdp/browser_context.hpp"
#include "cdp/page.hpp"
#include "cdp/url_policy.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rotor::cdp {

struct cookie {
    std::string name;
    std::string value;
    std::string domain;     // "shop.example" or an IP (host-only); ".shop.example": subdomains too
    std::string path = "/"; // sent for this path and below
    bool secure = false;    // https only
    bool http_only = false; // hidden from document.cookie
};

struct page_profile {
    std::string name;                            // e.g. the platform; in logs and errors
    std::map<std::string, std::string> headers;  // extra HTTP headers on every request
    std::string user_agent;                      // empty: the browser's
    std::optional<viewport> view;                // Emulation.setDeviceMetricsOverride
    std::vector<cookie> cookies;                 // set in the page's browser context
    std::vector<resource_type> block_types;      // failed through Fetch (image, font, media, ...)
    std::vector<std::string> block_url_patterns; // URLPattern syntax: "*://*:*/*.mp4"
    std::vector<std::string> allowed_hosts;      // url_policy rules; empty: any host not refused
    bool allow_private_addresses = false;        // loopback/RFC 1918/ULA without listing them

    /// A stable digest (16 hex digits) of every field above, name included: pages and contexts
    /// may be shared only between leases whose profiles have the same key. Thread-safe.
    std::string key() const;
    /// url_policy options of this profile.
    url_policy_options policy_options() const { return {allow_private_addresses}; }
};

/// What a profile refused or paused on one page (its children included).
struct profile_counts {
    std::uint64_t refused_navigations = 0; // navigate() refused before anything was sent
    std::uint64_t refused_documents = 0;   // documents and redirect hops failed (url_policy)
    std::uint64_t blocked_types = 0;       // requests of a blocked resource type failed
    std::uint64_t blocked_by_rules = 0;    // subresources Chromium blocked through setBlockedURLs
    std::uint64_t paused = 0;              // Fetch.requestPaused round trips (the profile's cost)
    std::uint64_t children = 0;            // iframes and workers the rules were applied to
    std::uint64_t live_children = 0;       // of those, the ones whose sessions are open now
    std::uint64_t children_failed = 0;     // children left paused: their rules could not be set
};

/// Applies `profile` to `p` (once), which must not have navigated yet (nor use page::block:
/// one Fetch handler per session decides every rule). From then on the page, its iframes and its
/// workers send the profile's headers and user agent and reach only what it allows; navigate()
/// refuses a URL url_policy refuses (navigation_failed, "refused: <reason>") before sending
/// anything. Cookies are set in the page's browser context, so pages of other profiles belong
/// in other contexts. Throws error(invalid_profile) for an unusable allowed_hosts entry, URL
/// pattern or cookie (naming it), or the error of the command that failed. Any thread.
boost::asio::awaitable<void> apply_profile(std::shared_ptr<page> p, page_profile profile);

/// What the profile applied to `p` counted so far (all zero without one). Thread-safe.
profile_counts blocked_counts(const page& p);

/// A new browser context for pages of `profile`. With allowed_hosts, the context sends every
/// other host to a dead proxy on 127.0.0.1:1 that the listed hosts bypass, so nothing off the
/// list (WebSockets, service workers included) leaves Chromium's network stack; without, a plain
/// context. Pages still need apply_profile. Throws error(invalid_profile) or the command's
/// error. Any thread.
boost::asio::awaitable<std::shared_ptr<browser_context>>
create_profile_context(std::shared_ptr<client> c, page_profile profile,
                       milliseconds command_timeout);

} // namespace rotor::cdp

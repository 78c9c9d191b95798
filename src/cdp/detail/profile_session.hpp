#pragma once
// The state a page profile keeps for one page, and how it applies its rules to one session of
// that page (the page's own, or an iframe's or worker's that auto-attach brought in).

#include "cdp/client.hpp"
#include "cdp/page_profile.hpp"
#include "cdp/url_policy.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace rotor::cdp {

/// Owned by the page (page::set_profile); event handlers hold it weakly.
struct page_profile_state {
    /// Compiles the profile's rules. Throws error(errc::invalid_profile) naming what is unusable.
    page_profile_state(const std::shared_ptr<client>& c, page_profile p, milliseconds timeout);

    std::weak_ptr<client> owner;
    const page_profile profile;
    const url_policy policy;
    const milliseconds command_timeout;
    json blocked_url_params;                            // Network.setBlockedURLs params
    json fetch_patterns;                                // Fetch.enable params of frame sessions
    std::unordered_set<std::string> blocked_type_names; // CDP resource types: "Image", ...

    std::atomic<std::uint64_t> refused_navigations{0};
    std::atomic<std::uint64_t> refused_documents{0};
    std::atomic<std::uint64_t> blocked_types{0};
    std::atomic<std::uint64_t> blocked_by_rules{0};
    std::atomic<std::uint64_t> paused{0};
    std::atomic<std::uint64_t> children{0};
    std::atomic<std::uint64_t> children_failed{0};

    std::mutex mutex;
    std::unordered_map<std::string, std::vector<subscription>> sessions; // by session id
    std::unordered_set<std::string> failed_requests; // Network ids this profile failed
};

namespace detail {

enum class session_kind {
    page,           // the page's own session: everything, plus viewport and cookies
    frame,          // an out-of-process iframe (or a page it opened): network rules and Fetch
    worker,         // a dedicated or shared worker: network rules (workers have no Fetch)
    service_worker, // the same, sent without waiting (it answers Network.enable once it runs)
};

/// Subscribes the profile's handlers on `session`, then sends its rules there and turns on
/// auto-attach, so children get the same; a child is then resumed (runIfWaitingForDebugger).
/// For the page, throws the failing command's error; a child whose network rules cannot be set
/// stays paused (counted in children_failed) and nothing is thrown. I/O thread or any.
boost::asio::awaitable<void> apply_to_session(std::shared_ptr<page_profile_state> st,
                                              std::string session, session_kind kind);

} // namespace detail
} // namespace rotor::cdp

#pragma once
// The pool's record of one Chromium process and of the browser contexts it has open. Pool
// thread only.

#include "cdp/browser.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace rotor::pool::detail {

enum class browser_state {
    launching, // a process is being started (with backoff after failures)
    ready,     // serves leases
    draining,  // no new leases; closed when its last lease ends (recycle)
    dead,      // the process is gone; its leases fail and end
};

std::string_view to_string(browser_state s);

struct context_entry {
    std::shared_ptr<cdp::browser_context> ctx;
    std::string profile_key;
    std::size_t items = 0;
    std::size_t open_pages = 0;
    bool retired = false; // no new pages; disposed once its pages are closed
};

// One creation of a context that several acquires may wait for: they share its outcome instead
// of each trying (and, on a wedged browser, each waiting a whole command timeout) in turn.
struct context_creation {
    explicit context_creation(boost::asio::io_context& io)
        : done(io, boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer done; // cancelled when finished
    bool finished = false;
    std::exception_ptr error;
};

struct browser_entry {
    std::uint64_t id = 0;
    browser_state state = browser_state::launching;
    std::shared_ptr<cdp::browser> chromium; // null while launching and once closed
    std::map<std::string, std::shared_ptr<context_entry>> contexts; // current one per profile
    std::map<std::string, std::shared_ptr<context_creation>> creating;
    bool wedged = false;
    std::unique_ptr<boost::asio::steady_timer> drain_timer; // closes a drain that never ends
    std::size_t items = 0;
    std::size_t active = 0;  // leases out on it
    std::size_t opening = 0; // acquires opening or checking a page on it right now
    std::size_t pages_created = 0;
    std::size_t contexts_created = 0;
    std::size_t page_rotations = 0;
    std::size_t context_rotations = 0;
    std::size_t processes = 0;
    double pss_mb = 0;

    bool in_use() const { return active > 0 || opening > 0; }
    bool connected() const { return chromium && chromium->is_connected(); }
    /// New pages may be opened on it.
    bool serving() const { return state == browser_state::ready && !wedged && connected(); }
};

} // namespace rotor::pool::detail

#pragma once
// The pool's page slots, one per lease that may be out at once: preparing a page for a lease
// (reuse, memory check, context, new page, profile), dropping pages (rotation, breakage, the
// close watchdog) and the rotation decisions after each item. Pool thread only.

#include "cdp/page_profile.hpp"
#include "pool/browser_pool.hpp"
#include "pool/detail/fleet.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rotor::pool::detail {

struct slot_entry {
    bool busy = false; // leased, or being prepared for a lease
    std::shared_ptr<cdp::page> page;
    std::shared_ptr<context_entry> ctx;
    std::shared_ptr<browser_entry> browser;
    std::size_t page_items = 0;
    std::uint64_t generation = 0; // of the lease out on it: a stale release is ignored
};

class page_slots {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    page_slots(boost::asio::io_context& io, const pool_options& options, fleet& browsers,
               pool_stats& totals);

    slot_entry& operator[](std::size_t i) { return slots_[i]; }
    const slot_entry& operator[](std::size_t i) const { return slots_[i]; }
    std::size_t size() const noexcept { return slots_.size(); }

    /// A free slot, preferring one whose page already serves `profile_key`.
    std::optional<std::size_t> pick_free(const std::string& profile_key) const;

    /// Gives slot `i` a usable page for `profile`: keeps its page when it still fits, else opens
    /// one on the least busy browser (waiting for one to come up until `deadline`). On success
    /// the slot's browser counts the lease (`active`). Throws cdp::error (retryable kinds when a
    /// browser went away) or pool::error.
    boost::asio::awaitable<void> prepare(std::size_t i, cdp::page_profile profile,
                                         time_point deadline);

    /// The item on slot `i` ended: counts it and applies the rotation decisions.
    void after_item(std::size_t i, item_outcome outcome);
    /// Closes slot `i`'s page in the background; the slot may get a new page at once.
    void drop(std::size_t i, bool count_rotation, bool broken);
    /// Drops the pages of idle slots that live in `b`.
    void drop_idle_of(const std::shared_ptr<browser_entry>& b);
    /// Forgets every page (shutdown); the browsers are closed by the caller.
    void clear();

  private:
    enum class memory_check { fits, too_big, unanswered, gone };
    boost::asio::awaitable<memory_check> check_memory(std::shared_ptr<cdp::page> page);
    bool usable(const slot_entry& s, const std::string& profile_key) const;

    boost::asio::io_context& io_;
    const pool_options& options_;
    fleet& fleet_;
    pool_stats& totals_;
    std::vector<slot_entry> slots_;
};

} // namespace rotor::pool::detail

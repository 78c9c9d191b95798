#pragma once
// When pages, contexts and browsers are replaced: pure decisions, taken after each item so an
// item in flight is never interrupted.

#include <cstddef>

namespace rotor::pool {

struct rotation_limits {
    std::size_t page_rotation_every = 10;    // items per page (0 = never rotate)
    std::size_t context_rotation_every = 50; // items per browser context (0 = never)
    std::size_t browser_recycle_every = 500; // items per browser process (0 = never)
    std::size_t memory_budget_mb = 0;        // PSS of a browser's tree (0 = no budget)
    // A page whose JavaScript heap plus array-buffer storage grew past this is replaced before
    // its next item (checked at acquire with Runtime.getHeapUsage, one round trip; 0 = never).
    std::size_t page_memory_mb = 64;
};

/// Items served so far, counting the one that just finished.
struct item_counts {
    std::size_t page = 0;
    std::size_t context = 0;
    std::size_t browser = 0;
};

struct rotation_decision {
    bool replace_page = false;    // close this page; the next lease gets a fresh one
    bool retire_context = false;  // no new pages in this context; dispose it once drained
    bool recycle_browser = false; // launch a replacement, drain this browser, close it
};

/// What to do after an item. A broken page (crash, timeout mid-navigation, abandoned lease)
/// is always replaced.
rotation_decision decide_after_item(const rotation_limits& limits, const item_counts& counts,
                                    bool page_broken);

/// True when a browser's sampled PSS exceeds the budget.
bool over_memory_budget(const rotation_limits& limits, double pss_mb);

} // namespace rotor::pool

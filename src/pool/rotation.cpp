#include "pool/rotation.hpp"

namespace rotor::pool {

rotation_decision decide_after_item(const rotation_limits& limits, const item_counts& counts,
                                    bool page_broken) {
    rotation_decision d;
    d.replace_page = page_broken ||
                     (limits.page_rotation_every > 0 && counts.page >= limits.page_rotation_every);
    d.retire_context =
        limits.context_rotation_every > 0 && counts.context >= limits.context_rotation_every;
    d.recycle_browser =
        limits.browser_recycle_every > 0 && counts.browser >= limits.browser_recycle_every;
    // A page never outlives its context or its browser.
    if (d.retire_context || d.recycle_browser) d.replace_page = true;
    return d;
}

bool over_memory_budget(const rotation_limits& limits, double pss_mb) {
    return limits.memory_budget_mb > 0 && pss_mb > static_cast<double>(limits.memory_budget_mb);
}

} // namespace rotor::pool

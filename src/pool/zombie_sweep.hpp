#pragma once
// Orphaned Chromium processes (a renderer or crashpad handler whose browser died) are
// re-parented to rotor, which is their child subreaper; a browser's close() reaps what it knows
// of within its bound, and this sweep, run periodically by the pool, reaps whatever exited later.

#include <cstddef>

namespace rotor::pool {

/// Reaps exited children of this process whose name says Chromium (chromium, chrome,
/// chrome_crashpad_handler, headless_shell). Other children (a test's redis-server, say) are
/// never touched. Returns how many were reaped. Any thread.
std::size_t reap_orphaned_chromium();

} // namespace rotor::pool

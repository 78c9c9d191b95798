#pragma once
// Orphaned Chromium processes (a renderer or crashpad handler whose browser died) are
// re-parented to rotor, which is their child subreaper; a browser's close() reaps what it knows
// of within its bound, and this sweep, run periodically by the pool, reaps whatever exited later.

#include <sys/types.h>

#include <cstddef>
#include <vector>

namespace rotor::pool {

/// Reaps exited children of this process whose name says Chromium (chromium, chrome,
/// chrome_crashpad_handler, headless_shell), except the main processes in `keep` (a live
/// browser's own, reaped by its owner, which still signals it by pid). Other children (a test's
/// redis-server, say) are never touched. Returns how many were reaped. Any thread.
std::size_t reap_orphaned_chromium(const std::vector<pid_t>& keep = {});

} // namespace rotor::pool

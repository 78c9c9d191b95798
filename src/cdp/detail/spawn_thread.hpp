#pragma once
// Chromium is forked from one long-lived thread: PR_SET_PDEATHSIG fires when the *thread* that
// forked a child exits, so forking from a pool thread that later ends would kill a healthy
// browser. This thread lives until the process exits.

#include <sys/types.h>

#include <functional>

namespace rotor::cdp::detail {

/// Runs `fork_and_exec` on the launcher thread and returns what it returned (a pid, or -errno).
/// Safe to call from any thread; blocks until done.
pid_t run_on_spawn_thread(std::function<pid_t()> fork_and_exec);

} // namespace rotor::cdp::detail

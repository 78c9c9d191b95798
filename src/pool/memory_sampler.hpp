#pragma once
// Reads the PSS of every browser's process tree on a thread of its own, every `interval`, and
// hands the figures to a callback. A /proc read that blocks (a process stuck in D state) stalls
// only this thread: stalled() says so, and the pool reports it in its health instead of silently
// losing its memory enforcement.

#include "cdp/process.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace rotor::pool {

class memory_sampler {
  public:
    struct target {
        std::uint64_t browser_id = 0;
        std::shared_ptr<const cdp::chromium_process> process;
    };
    struct reading {
        std::uint64_t browser_id = 0;
        std::size_t processes = 0;
        double pss_mb = 0;
    };
    /// Called on the sampler's thread after each pass with the figures and the main pids of the
    /// browsers sampled; must not block for long (post the figures on).
    using report_fn = std::function<void(std::vector<reading>, const std::vector<pid_t>&)>;

    /// Starts the thread; the first pass runs at once.
    memory_sampler(std::chrono::milliseconds interval, report_fn report);
    /// stop().
    ~memory_sampler();
    memory_sampler(const memory_sampler&) = delete;
    memory_sampler& operator=(const memory_sampler&) = delete;

    /// What to read from the next pass on. Thread-safe.
    void set_targets(std::vector<target> targets);
    /// Asks for a pass now instead of at the next interval. Thread-safe.
    void poke();
    /// No more reports after this returns. Joins the thread, unless it is stuck in a read for
    /// more than a second: then it is left to finish on its own (it owns everything it touches).
    /// Thread-safe, idempotent.
    void stop();

    /// True when no pass has finished for 3 intervals plus 5 s. Thread-safe.
    bool stalled() const;
    /// Since the last finished pass (or the start).
    std::chrono::steady_clock::duration since_last_pass() const;
    std::uint64_t passes() const;

    struct shared;

  private:
    std::shared_ptr<shared> shared_;
    std::chrono::milliseconds interval_;
};

} // namespace rotor::pool

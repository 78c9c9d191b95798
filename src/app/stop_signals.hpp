#pragma once
// How the worker stops on SIGTERM/SIGINT. The signals are blocked in every thread and taken by
// one thread of ours. The first one stops the job loop (no claim; the items in flight end; the
// job is released), sets the Redis cutoff (no retry after it) and starts the grace. When the
// grace is nearly over, or at a second signal, the end is forced: the running job is given
// back on a connection of its own (bounded, on a thread of its own so a hung DNS or Redis
// cannot hold the exit), every child process group (Chromium) is killed, exit 1.
// A signal before the loop exists (waiting for Redis, launching Chromium) exits 0 at once:
// there is nothing to give back.

#include "nodes/job_loop.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace rotor::app {

struct stop_options {
    std::string worker_id;
    std::chrono::milliseconds grace{20000};
    /// The longest one Redis attempt takes (connect + command timeout): the cutoff leaves room
    /// for one before the forced end.
    std::chrono::milliseconds redis_attempt{7000};
    std::shared_ptr<std::atomic<std::int64_t>> redis_cutoff; // redis_options::cutoff
};

/// The forced end's timing for a grace: when it starts (after the first signal), how long the
/// job's release may take, and the Redis cutoff (all offsets from the signal).
struct stop_timing {
    std::chrono::milliseconds release_budget;
    std::chrono::milliseconds force_after;
    std::chrono::milliseconds cutoff_after;
};
stop_timing timing_for(std::chrono::milliseconds grace, std::chrono::milliseconds redis_attempt);

class stop_signals {
  public:
    /// Blocks SIGTERM and SIGINT in the calling thread (call it before any other thread starts:
    /// they inherit the mask) and starts the thread that takes them.
    explicit stop_signals(stop_options options);
    /// The loop a signal stops (the forced end gives its job back).
    void attach(nodes::job_loop* loop);
    /// Before the loop is destroyed: a signal from now on only forces the end at the grace.
    void detach();
    /// main is returning (on any path): the grace running out no longer forces an end (a
    /// second signal still does).
    void exiting();

    struct state;

  private:
    std::shared_ptr<state> state_;
};

/// Kills every child process of this process with its process group (each Chromium is its own
/// group, its renderers and helpers with it).
void kill_children();

} // namespace rotor::app

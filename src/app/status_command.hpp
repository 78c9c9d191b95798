#pragma once
// rotorctl status: per platform its queue depths, stalled jobs, live workers (from their
// heartbeats), pause and cooldown; per batch group its progress in items, rate and ETA. On a
// terminal as a table with progress bars (redrawn with --watch); piped, as plain lines; with
// --json, one JSON object per platform and group.

#include "app/printer.hpp"
#include "queue/job_admin.hpp"
#include "queue/job_queue.hpp"

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace rotor::app {

struct status_options {
    std::vector<std::string> platforms; // empty: every configured platform and every in Redis
    std::vector<std::string> groups;
    std::string config_dir; // where the configured platforms are listed from
    bool watch = false;
    std::chrono::seconds interval{2};
    std::size_t updates = 0; // with watch: stop after this many (0: until Ctrl-C)
};

/// A batch group's state: its jobs' item counts read from their params, results and failures.
struct group_state {
    std::string group;
    std::string platform;
    std::int64_t jobs = 0, jobs_completed = 0, jobs_failed = 0;
    std::int64_t items = 0, items_recorded = 0, items_failed = 0;
    std::int64_t created_at_ms = 0;
    bool enqueuing = false;
};

/// Throws queue::error (errc::not_found) for a group that does not exist.
group_state read_group(queue::job_queue& q, const queue::keys& keys, const std::string& group);

int run_status(queue::job_queue& q, queue::job_admin& admin, const queue::queue_options& qo,
               const status_options& options, printer& out);

} // namespace rotor::app

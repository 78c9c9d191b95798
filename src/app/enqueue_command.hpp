#pragma once
// rotorctl enqueue: items from --items, --range or --file (csv, jsonl, or - for stdin) streamed
// into batch jobs through queue::enqueue_writer, always under an idempotency key (the user's, or
// one made up and printed) so a failed run can be finished by running it again.

#include "queue/job_queue.hpp"

#include <iosfwd>
#include <optional>
#include <string>

namespace rotor::app {

struct enqueue_source {
    std::string items;  // comma-separated ids
    std::string range;  // FROM-TO (integers)
    std::string file;   // a path, or - for standard input
    std::string format; // auto | csv | jsonl
    bool skip_bad_lines = false;
    std::size_t chunk_items = 0; // ids per script at most (0: enqueue_limits' default)
};

/// Runs the enqueue and prints a JSON summary line to `out`; problems (bad lines, the key to
/// resume with) go to `err`. Returns the exit code: 0 done, 1 nothing or not all written.
int run_enqueue(queue::job_queue& queue, queue::enqueue_target target, const enqueue_source& source,
                std::ostream& out, std::ostream& err);

} // namespace rotor::app

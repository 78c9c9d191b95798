#pragma once
// rotorctl failures (the failed items of a job or of a whole batch group, with their reasons)
// and retry-failed (a new batch of a group's failed items, each with the values it was
// enqueued with, under an idempotency key so running it twice adds nothing twice).

#include "app/printer.hpp"
#include "queue/job_queue.hpp"

#include <iosfwd>
#include <string>

namespace rotor::app {

/// Exactly one of job / group. A job or group that does not exist is an error (queue::error
/// errc::not_found), not an empty list.
int run_failures(queue::job_queue& q, const queue::keys& keys, const std::string& job,
                 const std::string& group, printer& out);

/// `key`: the idempotency key (default retry-failed:<group>).
int run_retry_failed(queue::job_queue& q, const queue::keys& keys, const std::string& group,
                     std::string key, printer& out, std::ostream& err);

} // namespace rotor::app

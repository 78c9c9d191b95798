#pragma once
// What the worker's heartbeat endpoint answers: /healthz (200 while the worker makes progress
// or is idle; 503 with the reason when a job is active and no item finished for stall_timeout,
// or its pool cannot launch Chromium), /readyz (Redis reached by the loop's last call, pool up)
// and /metrics (Prometheus text). Everything is read from counters: no I/O on the way.

#include "app/heartbeat_server.hpp"
#include "nodes/job_loop.hpp"
#include "pool/browser_pool.hpp"

#include <chrono>
#include <string>

namespace rotor::app {

struct worker_view {
    std::string worker_id;
    const nodes::platform_config* config = nullptr;
    const nodes::job_loop* loop = nullptr;
    pool::browser_pool* pool = nullptr; // null for an api platform
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::chrono::milliseconds stall_timeout{60000};
};

http_answer healthz(const worker_view& w);
http_answer readyz(const worker_view& w);
http_answer metrics(const worker_view& w);

/// The worker process's resident memory (bytes), from /proc/self/statm; 0 when unreadable.
double worker_rss_bytes();

} // namespace rotor::app

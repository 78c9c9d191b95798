#pragma once
// What the pool reports: per browser and in total. A snapshot is published by the pool thread
// after every change, so any thread (a health endpoint, /metrics) reads it without a round trip.

#include "pool/histogram.hpp"

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rotor::pool {

struct browser_stats {
    std::uint64_t id = 0;
    pid_t pid = 0;
    std::string state;     // launching, ready, draining, dead
    bool wedged = false;   // a page would not open or close in time
    std::size_t items = 0; // items served by this process
    std::size_t active_leases = 0;
    std::size_t pages_created = 0;
    std::size_t contexts_created = 0;
    std::size_t page_rotations = 0;
    std::size_t context_rotations = 0;
    std::size_t processes = 0; // processes in its tree at the last sample
    double pss_mb = 0;         // PSS of its tree at the last sample
};

struct pool_stats {
    std::vector<browser_stats> browsers;
    std::size_t items = 0;
    std::size_t page_rotations = 0;
    std::size_t context_rotations = 0;
    std::size_t recycles_by_count = 0;
    std::size_t recycles_by_memory = 0;
    std::size_t recycles_by_hang = 0; // a page would not open or close in time
    std::size_t restarts = 0;         // relaunches after a browser died
    std::size_t launch_failures = 0;
    std::size_t forced_closes = 0;            // pages that missed their close deadline
    std::size_t page_memory_replacements = 0; // pages replaced for holding > page_memory_mb
    std::size_t page_memory_unanswered = 0;   // of those, checks that got no answer in time
    std::uint64_t command_timeouts = 0;       // CDP commands without a reply in time, all browsers
    std::size_t acquire_timeouts = 0;         // acquires that gave up at their deadline
    std::size_t zombies_reaped = 0;           // orphaned Chromium processes reaped by the sweep
    std::size_t leases_active = 0;
    std::size_t waiters = 0;
    std::size_t wedged_browsers = 0;
    double pss_mb = 0;      // all browsers, last sample
    double peak_pss_mb = 0; // highest sum seen
    std::uint64_t memory_samples = 0;
    bool sampler_stalled = false;
    bool stopped = false;
    bool healthy = true;
    std::string unhealthy_reason;
    std::string shm;                // the shm decision, one line
    std::vector<std::string> flags; // the launch flags in force
    histogram_snapshot acquire_wait;
    histogram_snapshot navigation;
};

} // namespace rotor::pool

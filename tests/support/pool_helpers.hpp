#pragma once
// Helpers shared by the pool's integration tests: options for a test pool, running items
// concurrently through the fixture scrape, process checks.

#include "pool/browser_pool.hpp"
#include "scrape.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace rotor::test {

pool::pool_options base_options(const std::filesystem::path& profiles);

/// Runs the items concurrently (each waits for a lease), returns results in item order.
/// progress: after each item, with the count done; on_lease: each time an item holds a lease,
/// before it navigates, with the item's id and the browser's.
std::vector<fixture::scrape_result>
run_items(pool::browser_pool& p, const std::string& base, const std::vector<std::uint64_t>& ids,
          std::function<void(std::size_t done)> progress = {},
          std::function<void(std::uint64_t id, std::uint64_t browser_id)> on_lease = {});

/// The published stats once they count `items` items (releases reach the pool thread a moment
/// after release() returns); the last snapshot after 5 s otherwise.
/// Runs the items one after another: each is served only after the previous one ended, so the
/// pool sees them in this order (run_items' lease order is up to its two runner threads).
std::vector<fixture::scrape_result> run_items_in_order(pool::browser_pool& p,
                                                       const std::string& base,
                                                       const std::vector<std::uint64_t>& ids);

pool::pool_stats stats_after(const pool::browser_pool& p, std::size_t items);

/// "pid (comm) pgid ..." of every zombie whose parent is this process.
std::string zombie_children();

/// Checks each result against the catalog (GoogleTest expectations).
void expect_correct(const std::vector<fixture::scrape_result>& results);

/// Renderer processes of the browser whose main process is `browser_pid` (its process group).
std::vector<pid_t> renderers_of(pid_t browser_pid);

} // namespace rotor::test

#pragma once
// The Lua scripts behind every multi-key state change of the queue: one script, one atomic step,
// so a crash never leaves a job half-moved. Times come from Redis (TIME), so workers' clocks do
// not matter.

#include <string>

namespace rotor::queue::detail {

extern const std::string enqueue_lua;
extern const std::string bind_enqueue_lua;
extern const std::string claim_lua;
extern const std::string renew_lua;
extern const std::string checkpoint_lua;
extern const std::string store_outcome_lua;
extern const std::string complete_lua;
extern const std::string complete_and_claim_lua;
extern const std::string fail_job_lua;
extern const std::string reap_stalled_lua;
extern const std::string requeue_lua;
extern const std::string heartbeat_lua;
extern const std::string rate_limit_lua;
extern const std::string enter_lua;
extern const std::string release_lua;
extern const std::string dead_letter_lua;
extern const std::string clean_dead_lua;
extern const std::string cooldown_lua;
extern const std::string read_cooldown_lua;
extern const std::string stream_add_lua;
extern const std::string counts_lua;
extern const std::string platform_stats_lua;

} // namespace rotor::queue::detail

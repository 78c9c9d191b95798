-- claim.lua
-- Leases the best ready job of a platform (due retries are moved into the queue first).
-- KEYS: queue, running, delayed, dead, lock, paused (the platform's pause: no claim while it exists).
-- ARGV: prefix, lease_ms, worker, lock mode, request id, replay ('1': answer a replay),
-- dead_ttl_s (how long the hash of a job dead-lettered on the way is kept).
-- Returns {id, token, platform, params, workflow_id, attempts, max_attempts, group, lease
-- deadline ms}, or nil when no job is ready.
--! include now_ms
--! include group_count
--! include bury
--! include job_problem
--! include job_score
--! include claim_next
local now = now_ms()
return claim_next(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], tonumber(ARGV[2]),
                  ARGV[3], ARGV[4], now, string.format('%d', now), '1', ARGV[5], ARGV[6], ARGV[7],
                  KEYS[6])

-- complete_and_claim.lua
-- One round trip per job for a busy worker: complete this one, claim the next.
-- KEYS: job, running, lock, queue, delayed, dead, paused (no claim while it exists). ARGV: token, prefix, lock mode, worker,
-- lease_ms, done ttl_s, promote ('1': move due retries into the queue first), request id, replay,
-- dead_ttl_s.
-- Returns what claim.lua returns (nil: none ready), or a LEASE_LOST error (nothing changed).
-- A replay completes nothing twice (complete is idempotent) and answers with the job it claimed.
--! include now_ms
--! include group_count
--! include bury
--! include job_problem
--! include job_score
--! include claim_next
--! include complete_job
local now = now_ms()
local now_s = string.format('%d', now)
local r = complete_job(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], now_s, ARGV[6])
if type(r) == 'table' and r.err then return r end
return claim_next(KEYS[4], KEYS[2], KEYS[5], KEYS[6], KEYS[3], ARGV[2], tonumber(ARGV[5]),
                  ARGV[4], ARGV[3], now, now_s, ARGV[7], ARGV[8], ARGV[9], ARGV[10], KEYS[7])

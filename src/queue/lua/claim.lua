-- claim.lua
-- KEYS: queue, running, delayed, dead, lock. ARGV: prefix, lease_ms, worker, lock mode,
-- request id, replay.
--! include now_ms
--! include group_count
--! include claim_next
local now = now_ms()
return claim_next(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], tonumber(ARGV[2]),
                  ARGV[3], ARGV[4], now, string.format('%d', now), '1', ARGV[5], ARGV[6])

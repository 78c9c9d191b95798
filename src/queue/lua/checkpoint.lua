-- checkpoint.lua
-- KEYS: job, checkpoint. ARGV: token, index, total, ttl_s.
--! include now_ms
--! include fenced
--! include mark_done
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST checkpoint') end
local now = now_ms()
redis.call('HSET', KEYS[1], 'updated_at', now)
return mark_done(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), now, tonumber(ARGV[4]))

-- renew.lua: extends a lease. Also stamps the workers' pulse (see includes/pulse.lua).
-- KEYS: job, running, lock. ARGV: token, lease_ms, lock mode, worker, prefix, pulse gap_ms,
-- reap hold_ms.
-- Returns the new lease deadline (Redis ms); error LEASE_LOST when the lease is not this token's.
--! include now_ms
--! include fenced
--! include pulse
local now = now_ms()
pulse(ARGV[5], now, tonumber(ARGV[6]), tonumber(ARGV[7]))
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST renew') end
local deadline = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'lease_deadline', deadline)
redis.call('ZADD', KEYS[2], deadline, redis.call('HGET', KEYS[1], 'id'))
if ARGV[3] == 'platform' then redis.call('SET', KEYS[3], ARGV[4], 'PX', tonumber(ARGV[2])) end
return deadline

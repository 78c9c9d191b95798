-- renew.lua
-- KEYS: job, running, lock. ARGV: token, lease_ms, lock mode, worker.
--! include now_ms
--! include fenced
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST renew') end
local deadline = now_ms() + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'lease_deadline', deadline)
redis.call('ZADD', KEYS[2], deadline, redis.call('HGET', KEYS[1], 'id'))
if ARGV[3] == 'platform' then redis.call('SET', KEYS[3], ARGV[4], 'PX', tonumber(ARGV[2])) end
return deadline

-- reap_stalled.lua
-- KEYS: running, queue, dead. ARGV: max_stalled, prefix, limit.
--! include now_ms
--! include group_count
local now = now_ms()
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local requeued, dead = 0, 0
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[2] .. 'job:' .. id
  local stalled = redis.call('HINCRBY', key, 'stalled', 1)
  -- lease_token stays: it counts the job's leases (the status fences the expired one out).
  redis.call('HDEL', key, 'worker')
  if stalled > tonumber(ARGV[1]) then
    redis.call('HSET', key, 'status', 'dead', 'updated_at', now, 'last_error',
               'stalled ' .. stalled .. ' times (lease expired each time)')
    redis.call('ZADD', KEYS[3], now, id)
    group_count(ARGV[2], redis.call('HGET', key, 'group'), 'failed', now)
    dead = dead + 1
  else
    redis.call('HSET', key, 'status', 'queued', 'updated_at', now, 'last_error',
               'lease expired (stall ' .. stalled .. '); resumes from its checkpoint')
    redis.call('ZADD', KEYS[2], redis.call('HGET', key, 'score') or now, id)
    requeued = requeued + 1
  end
end
return {requeued, dead}

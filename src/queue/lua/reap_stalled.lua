-- reap_stalled.lua: jobs whose lease expired go back to their queue with a stall counted (or to
-- dead-letter after max_stalled). Held (nothing reaped) right after an outage: see
-- includes/pulse.lua.
-- KEYS: running, queue, dead. ARGV: max_stalled, prefix, limit, pulse gap_ms, reap hold_ms.
-- Returns {requeued, dead, held (1 while reaping is held)}.
--! include now_ms
--! include group_count
--! include pulse
local now = now_ms()
pulse(ARGV[2], now, tonumber(ARGV[4]), tonumber(ARGV[5]))
if tonumber(redis.call('GET', ARGV[2] .. 'reap-hold') or '0') > now then return {0, 0, 1} end
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
return {requeued, dead, 0}

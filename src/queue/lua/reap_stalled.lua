-- reap_stalled.lua
-- Jobs whose lease expired (their worker died or hung) go back to their queue, to resume from
-- their checkpoint, or to dead-letter after max_stalled expiries. Held (nothing reaped) right
-- after an outage: see includes/pulse.lua.
-- KEYS: running, queue, dead. ARGV: max_stalled, prefix, limit (jobs per call), dead_ttl_s,
-- pulse gap_ms, reap hold_ms.
-- Returns {requeued, dead, held (1 while reaping is held)}.
--! include now_ms
--! include group_count
--! include bury
--! include job_score
--! include pulse
local now = now_ms()
pulse(ARGV[2], now, tonumber(ARGV[5]), tonumber(ARGV[6]))
if tonumber(redis.call('GET', ARGV[2] .. 'reap-hold') or '0') > now then return {0, 0, 1} end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local requeued, dead = 0, 0
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[2] .. 'job:' .. id
  -- An id whose hash is gone (expired, deleted) only leaves the running set: nothing is created.
  if redis.call('EXISTS', key) == 1 then
    -- A stalled count that is not a number starts again (HINCRBY would fail mid-script).
    local stalled = (tonumber(redis.call('HGET', key, 'stalled')) or 0) + 1
    -- lease_token stays: it counts the job's leases (the status fences the expired one out).
    redis.call('HSET', key, 'stalled', stalled)
    redis.call('HDEL', key, 'worker')
    if stalled > tonumber(ARGV[1]) then
      bury(ARGV[2], key, KEYS[3], id, redis.call('HGET', key, 'group'),
           'stalled ' .. stalled .. ' times (lease expired each time)', now, ARGV[4])
      dead = dead + 1
    else
      redis.call('HSET', key, 'status', 'queued', 'updated_at', now, 'last_error',
                 'lease expired (stall ' .. stalled .. '); resumes from its checkpoint')
      redis.call('ZADD', KEYS[2], job_score(key, now), id)
      requeued = requeued + 1
    end
  end
end
return {requeued, dead, 0}

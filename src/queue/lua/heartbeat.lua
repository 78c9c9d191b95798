-- heartbeat.lua: the worker registry. Also stamps the workers' pulse (see includes/pulse.lua).
-- KEYS: workers (hash id -> status JSON), seen (zset id -> last ms).
-- ARGV: id, status JSON, ttl_ms, prefix, pulse gap_ms, reap hold_ms.
-- Workers not heard of for ttl_ms are dropped (up to 100 a call). Returns how many were.
--! include now_ms
--! include pulse
local now = now_ms()
pulse(ARGV[4], now, tonumber(ARGV[5]), tonumber(ARGV[6]))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, 100)
for _, id in ipairs(stale) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #stale

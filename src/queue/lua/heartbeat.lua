-- heartbeat.lua
-- The worker registry. KEYS: workers (hash id -> status JSON), seen (zset id -> last ms).
-- ARGV: id, status JSON, ttl_ms. Workers not heard of for ttl_ms are dropped (up to 100 a call).
--! include now_ms
local now = now_ms()
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, 100)
for _, id in ipairs(stale) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #stale

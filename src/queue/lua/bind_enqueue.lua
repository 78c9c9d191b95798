-- bind_enqueue.lua
-- Binds an idempotency key to what its enqueue writes (at its first use) and answers with the
-- binding: a later run with the same key must write the same platform, group, workflow,
-- priority and max attempts, or it is refused (the C++ side compares).
-- KEYS: record (workflow:enqueue:key:{key}, a hash; bind and chunk records share its expiry).
-- ARGV: platform, group, workflow, tier, max_attempts, ttl_s.
-- Returns {platform, group, workflow, tier, max_attempts} as bound, or a WRONGTYPE_KEY error.
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'hash' then
  return redis.error_reply('WRONGTYPE_KEY ' .. KEYS[1] .. ' is a ' .. t .. ', not a hash')
end
local f = redis.call('HMGET', KEYS[1], 'platform', 'group', 'workflow', 'tier', 'max_attempts')
if not f[1] then
  redis.call('HSET', KEYS[1], 'platform', ARGV[1], 'group', ARGV[2], 'workflow', ARGV[3],
             'tier', ARGV[4], 'max_attempts', ARGV[5])
  f = {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]}
end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return f

-- fail_job.lua
-- A whole-job failure of the lease holder: retry after backoff (base x 2^(attempts-1), capped,
-- with jitter) through the delayed set, or dead-letter once attempts reach max_attempts.
-- KEYS: job, running, delayed, dead, lock.
-- ARGV: token, error, base_ms, max_ms, jitter 0..1, prefix, lock mode, worker, dead_ttl_s (how
-- long a dead job's hash is kept).
-- Returns {'retry', backoff ms} or {'dead', '0'} (a replay: the same decision), or a
-- LEASE_LOST error.
--! include now_ms
--! include group_count
--! include bury
local s = redis.call('HMGET', KEYS[1], 'lease_token', 'status', 'retry_at', 'failed_token')
if s[1] == ARGV[1] and s[2] ~= 'running' and s[4] == ARGV[1] then
  -- A replay of this call: answer with what it decided. (A job reaped from under this lease
  -- has the same token but no failed_token of it: that is a lost lease, not a replay.)
  if s[2] == 'dead' then return {'dead', '0'} end
  if s[2] == 'delayed' or s[2] == 'queued' then
    local left = math.max(0, tonumber(s[3] or '0') - now_ms())
    return {'retry', string.format('%d', left)}
  end
end
if s[1] ~= ARGV[1] or s[2] ~= 'running' then return redis.error_reply('LEASE_LOST fail') end
local now = now_ms()
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'failed_token', ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'max_attempts', 'id', 'group')
redis.call('ZREM', KEYS[2], f[2])
if ARGV[7] == 'platform' and redis.call('GET', KEYS[5]) == ARGV[8] then redis.call('DEL', KEYS[5]) end
if attempts >= tonumber(f[1] or '1') then
  bury(ARGV[6], KEYS[1], KEYS[4], f[2], f[3], ARGV[2], now, ARGV[9])
  return {'dead', '0'}
end
local backoff = tonumber(ARGV[3]) * 2 ^ (attempts - 1)
if backoff > tonumber(ARGV[4]) then backoff = tonumber(ARGV[4]) end
backoff = math.floor(backoff * (0.5 + tonumber(ARGV[5]) / 2))
redis.call('HSET', KEYS[1], 'status', 'delayed', 'last_error', ARGV[2], 'retry_at', now + backoff,
           'updated_at', now)
redis.call('ZADD', KEYS[3], now + backoff, f[2])
return {'retry', tostring(backoff)}

-- release.lua: a graceful stop gives the job back. It goes to the front of its priority tier at
-- once with its checkpoint, attempts and stalls as they are: no stall is counted and nobody
-- waits for its lease to expire. Replay-safe: a job already released by this token answers
-- 'already'.
-- KEYS: job, running, queue, lock. ARGV: token, lock mode, worker.
-- Returns 'released' or 'already'; error LEASE_LOST when the lease is no longer this token's.
--! include now_ms
local f = redis.call('HMGET', KEYS[1], 'lease_token', 'status', 'id', 'score', 'released_token')
if f[1] == ARGV[1] and f[2] == 'queued' and f[5] == ARGV[1] then return 'already' end
if f[1] ~= ARGV[1] or f[2] ~= 'running' then return redis.error_reply('LEASE_LOST release') end
local now = now_ms()
redis.call('ZREM', KEYS[2], f[3])
redis.call('HSET', KEYS[1], 'status', 'queued', 'updated_at', now, 'released_at', now,
           'released_token', ARGV[1])
redis.call('HDEL', KEYS[1], 'worker')
-- The front of its tier: scores are tier x 1e13 + enqueue ms, so the tier's base comes first.
local score = tonumber(f[4] or '')
if not score or score ~= score or score == math.huge or score == -math.huge then score = 1e13 + now end
local front = math.floor(score / 1e13) * 1e13
redis.call('ZADD', KEYS[3], string.format('%.0f', front), f[3])
if ARGV[2] == 'platform' and redis.call('GET', KEYS[4]) == ARGV[3] then
  redis.call('DEL', KEYS[4])
end
return 'released'

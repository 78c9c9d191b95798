-- requeue.lua
-- A dead job back into its queue (its original priority and age), attempts and stalls reset; its
-- group counts it as pending again, and its hash no longer expires.
-- KEYS: job, dead, queue. ARGV: prefix, id, seq_ttl_s (the group's job counter lives on at
-- least this long: the job does).
-- Returns 1, or a NOT_DEAD <status> error when the job is not dead.
--! include now_ms
--! include group_count
--! include job_score
local f = redis.call('HMGET', KEYS[1], 'status', 'score', 'group')
if f[1] ~= 'dead' then
  return redis.error_reply('NOT_DEAD ' .. (f[1] or 'no such job'))
end
local now = string.format('%d', now_ms())
-- The score first: a bad one would make ZADD fail after the job already left the dead set.
local score = job_score(KEYS[1], now)
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('PERSIST', KEYS[1]) -- it died with an expiry (dead_retention)
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', 0, 'stalled', 0, 'updated_at', now,
           'requeued_at', now)
redis.call('ZADD', KEYS[3], score, ARGV[2])
group_count(ARGV[1], f[3], 'failed', now, -1, ARGV[2])
if f[3] and f[3] ~= '' then redis.call('EXPIRE', ARGV[1] .. 'batch-group-seq:' .. f[3], ARGV[3]) end
return 1

-- enqueue.lua
-- Adds n jobs under one batch group, atomically.
-- KEYS: queue, group, request (this enqueue's id: a replay answers with the jobs it made),
-- seq (the group's job counter: never expires, so a job id is never given twice).
-- ARGV: prefix, platform, workflow, tier, group, max_attempts, n, params..., retention_s (how
-- long the batch-group hash outlives its last enqueue).
-- Returns the job ids ({group}-{number}).
--! include now_ms
local prefix, platform, workflow = ARGV[1], ARGV[2], ARGV[3]
local tier, group, max_attempts, n = tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7])
local ids = {}
local done = redis.call('GET', KEYS[3])
if done then
  for i = 1, n do ids[i] = group .. '-' .. (tonumber(done) + i - 1) end
  return ids
end
local now = now_ms()
local base = tier * 1e13 + now
-- Job ids number on from the group's earlier jobs: enqueueing into an existing group adds jobs,
-- it never replaces one. The numbers come from a counter that never expires: the group hash
-- does, while its dead jobs, checkpoints and failures may live on, and numbering again from 0
-- would overwrite them or resume a new job from an old checkpoint. A group of an older rotor
-- (no counter yet) numbers on from its total.
redis.call('SET', KEYS[4], tonumber(redis.call('HGET', KEYS[2], 'total') or '0'), 'NX')
local first = redis.call('INCRBY', KEYS[4], n) - n
-- A group (re)created here counts only its own jobs: 'first' tells group_count which they are
-- (a group that expired may still have jobs running, and enqueued into again, it is new).
if redis.call('HINCRBY', KEYS[2], 'total', n) == n then
  redis.call('HSET', KEYS[2], 'first', first)
end
redis.call('SET', KEYS[3], first, 'EX', 86400)
for i = 1, n do
  local id = group .. '-' .. (first + i - 1)
  local score = base + (i - 1)
  redis.call('HSET', prefix .. 'job:' .. id, 'id', id, 'workflow_id', workflow,
             'platform', platform, 'params', ARGV[7 + i], 'status', 'queued', 'attempts', 0,
             'max_attempts', max_attempts, 'stalled', 0, 'created_at', now, 'updated_at', now,
             'group', group, 'score', string.format('%.0f', score))
  redis.call('ZADD', KEYS[1], score, id)
  ids[i] = id
end
redis.call('HSETNX', KEYS[2], 'completed', 0)
redis.call('HSETNX', KEYS[2], 'failed', 0)
redis.call('HSETNX', KEYS[2], 'created_at', now)
redis.call('HSET', KEYS[2], 'platform', platform, 'workflow_id', workflow, 'updated_at', now)
local v = redis.call('HMGET', KEYS[2], 'total', 'completed', 'failed')
local p = (tonumber(v[2]) + tonumber(v[3])) * 100 / tonumber(v[1])
redis.call('HSET', KEYS[2], 'progress', string.format('%.2f', p))
redis.call('EXPIRE', KEYS[2], ARGV[8 + n])
return ids

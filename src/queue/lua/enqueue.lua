-- enqueue.lua
-- Adds one chunk of an enqueue (n jobs of one batch group), atomically. A large enqueue is many
-- chunks (enqueue_writer), each bounded, so no single script carries a million ids.
-- KEYS: queue, group, record (a hash: an idempotency key's, bound by bind_enqueue.lua, or a
-- one-off one), seq (the group's job counter, so a job id is never given twice).
-- ARGV: prefix, platform, workflow, tier, group, max_attempts, n, retention_s (how long the
-- batch-group hash outlives its last enqueue), digest (of this chunk's items), open ('1': more
-- chunks of this enqueue follow; '0': this is its last), record_ttl_s, min_score (the previous
-- chunk's last score + 1, or 0), chunk (this chunk's field in the record: 'chunk:<n>'), keyed
-- ('1': the record must exist already), seq_ttl_s, params... (n of them, one per job, each
-- checked by the caller with the worker's rule: job_queue::write_enqueue_chunk; their byte
-- length is kept as the job's params_checked, so a claim need not decode them again).
-- Returns {'new' or 'replay', the next chunk's min_score (its jobs then queue after this
-- one's), the job ids ({group}-{number})...}, or an error with nothing written:
-- IDEMPOTENCY_MISMATCH (this chunk was written before with other items), IDEMPOTENCY_EXPIRED
-- (the key's record is gone), JOB_EXISTS (a job id the counter gives is taken: the group id was
-- reused while old jobs of it live), WRONGTYPE_KEY (a key of ours holds another type).
-- A replay (same record and chunk, same digest) adds nothing and answers with the ids it made.
-- Every check comes before the first write: Redis does not undo a script's earlier writes when
-- a later command fails.
--! include now_ms
local prefix, platform, workflow = ARGV[1], ARGV[2], ARGV[3]
local tier, group, max_attempts, n = tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7])
local retention, digest, open, record_ttl = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local min_score, chunk, keyed, seq_ttl = tonumber(ARGV[12]), ARGV[13], ARGV[14], ARGV[15]
local P = 15 -- params are ARGV[P + 1 .. P + n]
local out = {'new', '0'} -- then the ids from out[3]

for i, want in ipairs({'zset', 'hash', 'hash', 'string'}) do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= want then
    return redis.error_reply('WRONGTYPE_KEY ' .. KEYS[i] .. ' is a ' .. t .. ', not a ' .. want)
  end
end
if keyed == '1' and redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('IDEMPOTENCY_EXPIRED ' .. KEYS[3] .. ' is gone (no chunk of this ' ..
                           'enqueue for longer than the idempotency window)')
end
local function mark_open()
  -- 'enqueuing' says the group may still grow: its progress is not final yet.
  if redis.call('EXISTS', KEYS[2]) == 0 then return end
  if open == '1' then
    redis.call('HSET', KEYS[2], 'enqueuing', 1)
  else
    redis.call('HDEL', KEYS[2], 'enqueuing')
  end
end

local done = redis.call('HGET', KEYS[3], chunk)
if done then
  local first, was = string.match(done, '^(%d+) (%x+)$')
  if not first then
    return redis.error_reply('IDEMPOTENCY_MISMATCH ' .. KEYS[3] .. ' ' .. chunk .. ' is unreadable')
  end
  if was ~= digest then
    return redis.error_reply('IDEMPOTENCY_MISMATCH ' .. KEYS[3] .. ' ' .. chunk ..
                             ' was written with other items')
  end
  for i = 1, n do out[2 + i] = group .. '-' .. (tonumber(first) + i - 1) end
  redis.call('EXPIRE', KEYS[3], record_ttl) -- a retry keeps the whole record alive
  mark_open()
  -- The next chunk queues after this one's last job (if its hash, and score, is still there).
  local last = n > 0 and redis.call('HGET', prefix .. 'job:' .. out[2 + n], 'score')
  local s = tonumber(last or '')
  if not s or s ~= s or s == math.huge or s == -math.huge then s = -1 end
  out[1], out[2] = 'replay', string.format('%.0f', s + 1)
  return out
end

-- Job ids number on from the group's earlier jobs: enqueueing into an existing group adds jobs,
-- it never replaces one. The numbers come from a counter that outlives the group hash (its
-- dead jobs, checkpoints and failures may live on, and numbering again from 0 would overwrite
-- them or resume a new job from an old checkpoint). A group of an older rotor (no counter yet)
-- numbers on from its total.
local total = redis.call('HGET', KEYS[2], 'total')
if total and not tonumber(total) then
  return redis.error_reply('WRONGTYPE_KEY ' .. KEYS[2] .. ' total is not a number')
end
local first = tonumber(redis.call('GET', KEYS[4]) or '') or tonumber(total or '0')
for i = 1, n do
  local id = group .. '-' .. (first + i - 1)
  if redis.call('EXISTS', prefix .. 'job:' .. id) == 1 then
    return redis.error_reply('JOB_EXISTS ' .. id .. ' exists already (the group id ' .. group ..
                             ' was used before and its jobs live on): use another group id')
  end
end

local now = now_ms()
local base = math.max(tier * 1e13 + now, min_score)
redis.call('SET', KEYS[4], first + n, 'EX', seq_ttl)
-- A group (re)created here counts only its own jobs: 'first' tells group_count which they are
-- (a group that expired may still have jobs running, and enqueued into again, it is new).
if redis.call('HINCRBY', KEYS[2], 'total', n) == n then
  redis.call('HSET', KEYS[2], 'first', first)
end
redis.call('HSET', KEYS[3], chunk, first .. ' ' .. digest)
redis.call('EXPIRE', KEYS[3], record_ttl)
for i = 1, n do
  local id = group .. '-' .. (first + i - 1)
  local score = base + (i - 1)
  redis.call('HSET', prefix .. 'job:' .. id, 'id', id, 'workflow_id', workflow,
             'platform', platform, 'params', ARGV[P + i], 'params_checked', #ARGV[P + i],
             'status', 'queued', 'attempts', 0,
             'max_attempts', max_attempts, 'stalled', 0, 'created_at', now, 'updated_at', now,
             'group', group, 'score', string.format('%.0f', score))
  redis.call('ZADD', KEYS[1], score, id)
  out[2 + i] = id
end
redis.call('HSETNX', KEYS[2], 'completed', 0)
redis.call('HSETNX', KEYS[2], 'failed', 0)
redis.call('HSETNX', KEYS[2], 'created_at', now)
redis.call('HSET', KEYS[2], 'platform', platform, 'workflow_id', workflow, 'updated_at', now)
local v = redis.call('HMGET', KEYS[2], 'total', 'completed', 'failed')
local p = ((tonumber(v[2]) or 0) + (tonumber(v[3]) or 0)) * 100 / tonumber(v[1])
redis.call('HSET', KEYS[2], 'progress', string.format('%.2f', p))
mark_open()
redis.call('EXPIRE', KEYS[2], retention)
out[2] = string.format('%.0f', base + n)
return out

#include "queue/detail/lua_scripts.hpp"

namespace rotor::queue::detail {
namespace {

// Helpers, prepended to the scripts that use them (each script carries only what it calls:
// every helper is a closure made again on each run).
const std::string now_ms = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
)lua";

const std::string fenced = R"lua(
local function fenced(job_key, token)
  local f = redis.call('HMGET', job_key, 'lease_token', 'status')
  return f[1] == token and f[2] == 'running'
end
)lua";

const std::string group_count = R"lua(
-- One read and one write per finished job (scripts are atomic, so read-modify-write is safe).
-- delta: 1 (a job finished) or -1 (a dead job was requeued).
local function group_count(prefix, group, field, now, delta)
  if not group or group == '' then return end
  delta = delta or 1
  local g = prefix .. 'batch-group:' .. group
  local v = redis.call('HMGET', g, 'total', 'completed', 'failed')
  local total, c, f = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
  if field == 'completed' then c = c + delta else f = f + delta end
  local p = 0
  if total > 0 then p = (c + f) * 100 / total end
  redis.call('HSET', g, field, field == 'completed' and c or f, 'progress',
             string.format('%.2f', p), 'updated_at', now)
end
)lua";

const std::string mark_done = R"lua(
local function mark_done(ckey, index, total, now, ttl)
  local v = redis.call('HMGET', ckey, 'processed_index', 'done_beyond')
  local processed = tonumber(v[1] or '0')
  if index < processed then return processed end
  local set = {}
  for _, i in ipairs(cjson.decode(v[2] or '[]')) do set[i] = true end
  set[index] = true
  while set[processed] do
    set[processed] = nil
    processed = processed + 1
  end
  local rest = {}
  for i, _ in pairs(set) do table.insert(rest, i) end
  table.sort(rest)
  local encoded = '[]'
  if #rest > 0 then encoded = cjson.encode(rest) end
  redis.call('HSET', ckey, 'processed_index', processed, 'total', total, 'updated_at', now,
             'done_beyond', encoded)
  redis.call('EXPIRE', ckey, ttl)
  return processed
end
)lua";

const std::string is_done = R"lua(
local function is_done(ckey, index)
  local v = redis.call('HMGET', ckey, 'processed_index', 'done_beyond')
  if index < tonumber(v[1] or '0') then return true end
  for _, i in ipairs(cjson.decode(v[2] or '[]')) do
    if i == index then return true end
  end
  return false
end
)lua";

const std::string claim_next = R"lua(
-- promote: '1' when retries whose backoff is over should go back into the queue first (a busy
-- worker asks every delayed_poll ms, not on every job).
-- rid: the client's id for this claim, kept in the job hash. replay '1': this claim may have
-- run already (its reply was lost, or Redis ran it after the client timed out), so the job it
-- took, if any, is answered again instead of leasing a second one.
local function claim_next(queue, running, delayed, dead, lock, prefix, lease, worker, mode, now,
                          now_s, promote, rid, replay)
  if replay == '1' then
    for _, id in ipairs(redis.call('ZRANGE', running, 0, -1)) do
      local key = prefix .. 'job:' .. id
      local f = redis.call('HMGET', key, 'platform', 'params', 'workflow_id', 'attempts',
                           'max_attempts', 'group', 'lease_token', 'lease_deadline', 'worker',
                           'claim_request', 'status')
      if f[9] == worker and f[10] == rid and f[11] == 'running' then
        return {id, f[7], f[1], f[2], f[3] or '', f[4] or '0', f[5] or '0', f[6] or '', f[8]}
      end
    end
  end
  if promote == '1' then
    local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now_s, 'LIMIT', 0, 100)
    for _, id in ipairs(due) do
      redis.call('ZREM', delayed, id)
      local key = prefix .. 'job:' .. id
      local score = redis.call('HGET', key, 'score')
      if score then
        redis.call('ZADD', queue, score, id)
        redis.call('HSET', key, 'status', 'queued', 'updated_at', now_s)
      end
    end
  end
  if mode == 'platform' then
    local holder = redis.call('GET', lock)
    if holder and holder ~= worker then return false end
  end
  while true do
    local popped = redis.call('ZPOPMIN', queue)
    if #popped == 0 then return false end
    local id = popped[1]
    local key = prefix .. 'job:' .. id
    local f = redis.call('HMGET', key, 'platform', 'params', 'workflow_id', 'attempts',
                         'max_attempts', 'group', 'lease_token')
    local reason = nil
    if not f[1] or not f[2] then
      reason = 'job hash missing or without platform/params'
    else
      local ok, decoded = pcall(cjson.decode, f[2])
      if not ok then
        reason = 'params are not valid JSON'
      elseif type(decoded) ~= 'table' then
        reason = 'params are not a JSON object'
      end
    end
    if reason then
      redis.call('ZADD', dead, now_s, id)
      redis.call('HSET', key, 'id', id, 'status', 'dead', 'last_error', 'malformed job: ' .. reason,
                 'updated_at', now_s)
      group_count(prefix, f[6], 'failed', now_s)
    else
      -- The fencing token counts this job's leases: every claim gets a new one, and a worker
      -- holding an older one can no longer write (the status check covers a reaped job).
      local token = string.format('%d', (tonumber(f[7]) or 0) + 1)
      local deadline = string.format('%d', now + lease)
      redis.call('HSET', key, 'status', 'running', 'worker', worker, 'lease_token', token,
                 'lease_deadline', deadline, 'updated_at', now_s, 'claim_request', rid)
      redis.call('ZADD', running, deadline, id)
      if mode == 'platform' then redis.call('SET', lock, worker, 'PX', lease) end
      return {id, token, f[1], f[2], f[3] or '', f[4] or '0', f[5] or '0', f[6] or '', deadline}
    end
  end
end
)lua";

const std::string complete_job = R"lua(
-- A done job's hash is kept for `ttl` seconds (status, timings, worker), then expires; with
-- ttl '0' it is deleted at once (its group's counts, failures and checkpoints stay). A complete
-- that finds the hash gone (deleted at its first complete) has nothing left to do.
local function complete_job(job, running, lock, token, prefix, mode, worker, now_s, ttl)
  local f = redis.call('HMGET', job, 'lease_token', 'status', 'id', 'group')
  if (f[1] == token and f[2] == 'done') or (not f[1] and not f[2]) then return 'already' end
  if f[1] ~= token or f[2] ~= 'running' then return redis.error_reply('LEASE_LOST complete') end
  if ttl == '0' then
    redis.call('DEL', job)
  else
    redis.call('HSET', job, 'status', 'done', 'updated_at', now_s)
    redis.call('EXPIRE', job, ttl)
  end
  redis.call('ZREM', running, f[3])
  group_count(prefix, f[4], 'completed', now_s)
  if mode == 'platform' and redis.call('GET', lock) == worker then redis.call('DEL', lock) end
  return 'done'
end
)lua";

} // namespace

// KEYS: queue, group, request (this enqueue's id: a replay answers with the jobs it made).
// ARGV: prefix, platform, workflow, tier, group, max_attempts, n, params..., retention_s (how
// long the batch-group hash outlives its last enqueue).
const std::string enqueue_lua = now_ms + R"lua(
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
-- it never replaces one.
local first = redis.call('HINCRBY', KEYS[2], 'total', n) - n
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
)lua";

// KEYS: queue, running, delayed, dead, lock. ARGV: prefix, lease_ms, worker, lock mode,
// request id, replay.
const std::string claim_lua = now_ms + group_count + claim_next + R"lua(
local now = now_ms()
return claim_next(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], tonumber(ARGV[2]),
                  ARGV[3], ARGV[4], now, string.format('%d', now), '1', ARGV[5], ARGV[6])
)lua";

// KEYS: job, running, lock. ARGV: token, lease_ms, lock mode, worker.
const std::string renew_lua = now_ms + fenced + R"lua(
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST renew') end
local deadline = now_ms() + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'lease_deadline', deadline)
redis.call('ZADD', KEYS[2], deadline, redis.call('HGET', KEYS[1], 'id'))
if ARGV[3] == 'platform' then redis.call('SET', KEYS[3], ARGV[4], 'PX', tonumber(ARGV[2])) end
return deadline
)lua";

// KEYS: job, checkpoint. ARGV: token, index, total, ttl_s.
const std::string checkpoint_lua = now_ms + fenced + mark_done + R"lua(
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST checkpoint') end
local now = now_ms()
redis.call('HSET', KEYS[1], 'updated_at', now)
return mark_done(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]), now, tonumber(ARGV[4]))
)lua";

// KEYS: job, failures, checkpoint. ARGV: token, index, total, ttl_s, entry (JSON without time).
const std::string fail_item_lua = now_ms + fenced + mark_done + is_done + R"lua(
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST record_failure') end
-- An item already counted (a replay of this call) is not recorded twice.
if is_done(KEYS[3], tonumber(ARGV[2])) then
  return tonumber(redis.call('HGET', KEYS[3], 'processed_index') or '0')
end
local now = now_ms()
local entry = cjson.decode(ARGV[5])
entry['timestamp'] = now
redis.call('RPUSH', KEYS[2], cjson.encode(entry))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[1], 'failed_items', 1)
return mark_done(KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3]), now, tonumber(ARGV[4]))
)lua";

// KEYS: job, running, lock. ARGV: token, prefix, lock mode, worker, done ttl_s.
const std::string complete_lua = now_ms + group_count + complete_job + R"lua(
return complete_job(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
                    string.format('%d', now_ms()), ARGV[5])
)lua";

// One round trip per job for a busy worker: complete this one, claim the next.
// KEYS: job, running, lock, queue, delayed, dead. ARGV: token, prefix, lock mode, worker,
// lease_ms, done ttl_s, promote ('1': move due retries into the queue first), request id, replay.
// A replay completes nothing twice (complete is idempotent) and answers with the job it claimed.
const std::string complete_and_claim_lua = now_ms + group_count + claim_next + complete_job + R"lua(
local now = now_ms()
local now_s = string.format('%d', now)
local r = complete_job(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], now_s, ARGV[6])
if type(r) == 'table' and r.err then return r end
return claim_next(KEYS[4], KEYS[2], KEYS[5], KEYS[6], KEYS[3], ARGV[2], tonumber(ARGV[5]),
                  ARGV[4], ARGV[3], now, now_s, ARGV[7], ARGV[8], ARGV[9])
)lua";

// KEYS: job, running, delayed, dead, lock.
// ARGV: token, error, base_ms, max_ms, jitter 0..1, prefix, lock mode, worker.
const std::string fail_job_lua = now_ms + group_count + R"lua(
local s = redis.call('HMGET', KEYS[1], 'lease_token', 'status', 'retry_at')
if s[1] == ARGV[1] and s[2] ~= 'running' then
  -- A replay of this call: answer with what it decided.
  if s[2] == 'dead' then return {'dead', '0'} end
  if s[2] == 'delayed' or s[2] == 'queued' then
    local left = math.max(0, tonumber(s[3] or '0') - now_ms())
    return {'retry', string.format('%d', left)}
  end
end
if s[1] ~= ARGV[1] or s[2] ~= 'running' then return redis.error_reply('LEASE_LOST fail') end
local now = now_ms()
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local f = redis.call('HMGET', KEYS[1], 'max_attempts', 'id', 'group')
redis.call('ZREM', KEYS[2], f[2])
if ARGV[7] == 'platform' and redis.call('GET', KEYS[5]) == ARGV[8] then redis.call('DEL', KEYS[5]) end
if attempts >= tonumber(f[1] or '1') then
  redis.call('HSET', KEYS[1], 'status', 'dead', 'last_error', ARGV[2], 'updated_at', now)
  redis.call('ZADD', KEYS[4], now, f[2])
  group_count(ARGV[6], f[3], 'failed', now)
  return {'dead', '0'}
end
local backoff = tonumber(ARGV[3]) * 2 ^ (attempts - 1)
if backoff > tonumber(ARGV[4]) then backoff = tonumber(ARGV[4]) end
backoff = math.floor(backoff * (0.5 + tonumber(ARGV[5]) / 2))
redis.call('HSET', KEYS[1], 'status', 'delayed', 'last_error', ARGV[2], 'retry_at', now + backoff,
           'updated_at', now)
redis.call('ZADD', KEYS[3], now + backoff, f[2])
return {'retry', tostring(backoff)}
)lua";

// KEYS: running, queue, dead. ARGV: max_stalled, prefix, limit.
const std::string reap_stalled_lua = now_ms + group_count + R"lua(
local now = now_ms()
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
return {requeued, dead}
)lua";

// A dead job back into its queue (its original priority and age), attempts and stalls reset; its
// group counts it as pending again. KEYS: job, dead, queue. ARGV: prefix, id.
const std::string requeue_lua = now_ms + group_count + R"lua(
local f = redis.call('HMGET', KEYS[1], 'status', 'score', 'group')
if f[1] ~= 'dead' then
  return redis.error_reply('NOT_DEAD ' .. (f[1] or 'no such job'))
end
local now = string.format('%d', now_ms())
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', 0, 'stalled', 0, 'updated_at', now,
           'requeued_at', now)
redis.call('ZADD', KEYS[3], f[2] or string.format('%.0f', 1e13 + tonumber(now)), ARGV[2])
group_count(ARGV[1], f[3], 'failed', now, -1)
return 1
)lua";

// The worker registry. KEYS: workers (hash id -> status JSON), seen (zset id -> last ms).
// ARGV: id, status JSON, ttl_ms. Workers not heard of for ttl_ms are dropped (up to 100 a call).
const std::string heartbeat_lua = now_ms + R"lua(
local now = now_ms()
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, 100)
for _, id in ipairs(stale) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return #stale
)lua";

// GCRA. KEYS: tat, cooldown. ARGV: interval_ms, burst. Returns ms to wait (0: admitted).
const std::string rate_limit_lua = now_ms + R"lua(
local now = now_ms()
local interval = tonumber(ARGV[1])
local factor = tonumber(redis.call('GET', KEYS[2]) or '1')
if factor <= 0 then factor = 1 end
interval = interval / factor
local tau = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tau - now
if wait > 0 then return string.format('%.3f', wait) end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now + 1000))
return '0'
)lua";

// Cluster-wide cap on concurrent holders. KEYS: zset. ARGV: cap, token, ttl_ms. 1 = entered.
const std::string enter_lua = now_ms + R"lua(
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
return 1
)lua";

} // namespace rotor::queue::detail

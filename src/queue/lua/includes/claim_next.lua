-- claim_next(queue, running, delayed, dead, lock, prefix, lease, worker, mode, now, now_s, promote,
--            rid, replay, dead_ttl, paused): leases the best ready job of a platform to `worker`. Returns
-- {id, token, platform, params, workflow_id, attempts, max_attempts, group, lease deadline}, or
-- false when no job is ready. Needs group_count, bury, job_problem and job_score.
-- promote: '1' when retries whose backoff is over should go back into the queue first (a busy
-- worker asks every delayed_poll ms, not on every job).
-- rid: the client's id for this claim, kept in the job hash. replay '1': this claim may have
-- run already (its reply was lost, or Redis ran it after the client timed out), so the job it
-- took, if any, is answered again instead of leasing a second one.
-- A job that cannot be run (job_problem) is dead-lettered on the way with
-- 'malformed_job: <reason>' (its hash expires after dead_ttl s), so it never "completes" with no
-- items. An id whose hash is gone is dropped: nothing is created for it.
-- paused: the platform's pause key; while it exists no job is leased (a replay is still
-- answered: that job was leased before the pause).
local function claim_next(queue, running, delayed, dead, lock, prefix, lease, worker, mode, now,
                          now_s, promote, rid, replay, dead_ttl, paused)
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
  if redis.call('EXISTS', paused) == 1 then return false end
  if promote == '1' then
    local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now_s, 'LIMIT', 0, 100)
    for _, id in ipairs(due) do
      redis.call('ZREM', delayed, id)
      local key = prefix .. 'job:' .. id
      if redis.call('EXISTS', key) == 1 then -- a retry whose hash is gone is dropped
        redis.call('ZADD', queue, job_score(key, now), id)
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
                         'max_attempts', 'group', 'lease_token', 'params_checked')
    local reason = job_problem(f)
    if reason and not f[1] and not f[2] and redis.call('EXISTS', key) == 0 then
      -- An id left in the queue by a hash that expired or was deleted: dropped.
    elseif reason then
      bury(prefix, key, dead, id, f[6], 'malformed_job: ' .. reason, now_s, dead_ttl)
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

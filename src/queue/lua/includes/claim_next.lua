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

-- complete_job(job, running, lock, token, prefix, mode, worker, now_s, ttl): finishes the job
-- of the lease holder `token`. Returns 'done', 'already' (a replay, or the hash is gone), or a
-- LEASE_LOST error. Needs group_count.
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
  group_count(prefix, f[4], 'completed', now_s, 1, f[3])
  if mode == 'platform' and redis.call('GET', lock) == worker then redis.call('DEL', lock) end
  return 'done'
end

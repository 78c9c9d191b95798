-- group_count(prefix, group, field, now, delta, job_id): counts a finished job in its batch
-- group: field 'completed' or 'failed' moves by delta (1: a job finished; -1: a dead job was
-- requeued) and progress follows. Returns nothing.
-- One read and one write per finished job (scripts are atomic, so read-modify-write is safe).
-- A group whose hash expired is not brought back (it would live on without its total and
-- TTL), and a job of an earlier group of the same id (numbered below the group's 'first': the
-- group expired and was enqueued into again) does not count in the new one.
local function group_count(prefix, group, field, now, delta, job_id)
  if not group or group == '' then return end
  delta = delta or 1
  local g = prefix .. 'batch-group:' .. group
  local v = redis.call('HMGET', g, 'total', 'completed', 'failed', 'first')
  if not v[1] then return end
  if job_id and v[4] then
    local n = tonumber(string.sub(job_id, #group + 2))
    if n and n < tonumber(v[4]) then return end
  end
  local total, c, f = tonumber(v[1]), tonumber(v[2] or '0'), tonumber(v[3] or '0')
  if field == 'completed' then c = c + delta else f = f + delta end
  local p = 0
  if total > 0 then p = (c + f) * 100 / total end
  redis.call('HSET', g, field, field == 'completed' and c or f, 'progress',
             string.format('%.2f', p), 'updated_at', now)
end

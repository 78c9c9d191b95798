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

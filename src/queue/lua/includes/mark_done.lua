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

local function is_done(ckey, index)
  local v = redis.call('HMGET', ckey, 'processed_index', 'done_beyond')
  if index < tonumber(v[1] or '0') then return true end
  for _, i in ipairs(cjson.decode(v[2] or '[]')) do
    if i == index then return true end
  end
  return false
end

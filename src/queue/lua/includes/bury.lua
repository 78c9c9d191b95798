-- bury(prefix, key, dead, id, group, reason, now, ttl): dead-letters the job whose hash is `key`:
-- status dead with `reason` as its last_error, into the platform's dead set (score: now) and
-- counted as failed by its batch group. Its hash expires `ttl` s later (dead_retention; requeue
-- takes the expiry off), and entries of the dead set older than that leave it, with their hash
-- if it is still there (up to 100 a call). Returns nothing. Needs group_count.
local function bury(prefix, key, dead, id, group, reason, now, ttl)
  redis.call('HSET', key, 'status', 'dead', 'last_error', reason, 'updated_at', now)
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', dead, now, id)
  group_count(prefix, group, 'failed', now, 1, id)
  local cutoff = string.format('%d', tonumber(now) - tonumber(ttl) * 1000)
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', dead, '-inf', '(' .. cutoff, 'LIMIT', 0, 100)) do
    local old_key = prefix .. 'job:' .. old
    if redis.call('HGET', old_key, 'status') == 'dead' then redis.call('DEL', old_key) end
    redis.call('ZREM', dead, old)
  end
end

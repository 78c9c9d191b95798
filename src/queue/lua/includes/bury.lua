-- bury(prefix, key, dead, id, group, reason, now): dead-letters the job whose hash is `key`:
-- status dead with `reason` as its last_error, into the platform's dead set (score: now) and
-- counted as failed by its batch group. Returns nothing. Needs group_count.
local function bury(prefix, key, dead, id, group, reason, now)
  redis.call('HSET', key, 'status', 'dead', 'last_error', reason, 'updated_at', now)
  redis.call('ZADD', dead, now, id)
  group_count(prefix, group, 'failed', now, 1, id)
end

-- job_score(key, now): the queue score of the job whose hash is `key` (priority tier x 1e13 +
-- enqueue ms). A hash without a usable one (missing, or not a number: ZADD would fail halfway
-- through the script and leave the job in no set) gets the normal tier at `now`, written back.
-- Returns the score as a string.
local function job_score(key, now)
  local s = redis.call('HGET', key, 'score')
  local n = tonumber(s or '')
  -- NaN is a number to Lua (and not equal to itself) but not a score to ZADD.
  if n and n == n and n > -math.huge and n < math.huge then return s end
  s = string.format('%.0f', 1e13 + tonumber(now))
  redis.call('HSET', key, 'score', s)
  return s
end

-- job_score(key, now): the queue score of the job whose hash is `key` (priority tier x 1e13 +
-- enqueue ms). A hash without a usable one (missing, or not a number: ZADD would fail halfway
-- through the script and leave the job in no set) gets the normal tier at `now`, written back.
-- Returns the score as a string.
local function job_score(key, now)
  local s = redis.call('HGET', key, 'score')
  if s and tonumber(s) then return s end
  s = string.format('%.0f', 1e13 + tonumber(now))
  redis.call('HSET', key, 'score', s)
  return s
end

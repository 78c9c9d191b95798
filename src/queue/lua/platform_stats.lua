-- platform_stats.lua
-- What `rotorctl status` shows of a platform, read at one moment in one round trip (read one by
-- one, a job that moved between the reads was counted twice or not at all).
-- KEYS: queue, running, delayed, dead, paused, cooldown. ARGV: none.
-- Returns {now ms, queued, running, delayed, dead, stalled (running jobs whose lease deadline
-- has passed), the oldest dead job's score or nil, the pause record or nil, the cooldown's
-- factor, until and ramp or nil each (nil too when the cooldown key is not a hash)}.
-- A pause key that is not a string, or is empty, still pauses (claims check that it exists): it
-- is answered as a record with only a reason.
--! include now_ms
local now = now_ms()
local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
local paused = redis.pcall('GET', KEYS[5])
if type(paused) == 'table' and paused.err then
  paused = '{"reason":"(the pause key is not a string)"}'
elseif paused == '' then
  paused = '{"reason":"(the pause key is empty)"}'
end
local cd = {false, false, false}
if redis.call('TYPE', KEYS[6]).ok == 'hash' then
  cd = redis.call('HMGET', KEYS[6], 'factor', 'until', 'ramp')
end
return {now, redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]),
        redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]),
        redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. string.format('%d', now)),
        oldest[2] or false, paused, cd[1], cd[2], cd[3]}

-- cooldown.lua
-- Slows a platform for every worker (one of them met 429s): its rate is multiplied by `factor`
-- for `duration_ms`, then rises linearly back to the full rate over `ramp_ms`. When workers
-- trigger it at once or one after another, the harshest factor in force wins and the later end
-- wins: a milder cooldown never speeds a platform up. A cooldown during the ramp starts from the
-- factor the ramp had reached, if that is harsher.
-- KEYS: cooldown (hash: factor, until ms, ramp ms; expires when the ramp ends).
-- ARGV: factor (0 < f <= 1), duration_ms, ramp_ms.
-- Returns the factor now in force, as a string.
--! include now_ms
--! include cooldown_factor
local now = now_ms()
local key = KEYS[1]
local current = cooldown_factor(key, now)
local old = redis.pcall('HMGET', key, 'until', 'ramp')
if old.err then
  redis.call('DEL', key) -- a cooldown of an older rotor (a plain string)
  old = {}
end
local factor = math.min(current, tonumber(ARGV[1]))
local till = now + tonumber(ARGV[2])
local ramp = tonumber(ARGV[3])
if current < 1 then
  -- A cooldown still in force (or ramping) keeps its later end and its longer ramp.
  local old_till, old_ramp = tonumber(old[1]), tonumber(old[2])
  if old_till and old_till > till then till = old_till end
  if old_ramp and old_ramp > ramp then ramp = old_ramp end
end
redis.call('HSET', key, 'factor', string.format('%.6f', factor), 'until', string.format('%d', till),
           'ramp', string.format('%d', ramp))
redis.call('PEXPIRE', key, math.max(1, till + ramp - now + 1000))
return string.format('%.6f', factor)

-- cooldown_factor(key, now): the rate factor a platform's cooldown puts in force at `now` (ms).
-- key: the cooldown hash (factor, until ms, ramp ms; see cooldown.lua). 1 when there is none.
-- Until `until` the factor holds; then it rises linearly back to 1 over `ramp` ms, so a
-- platform that just stopped answering 429 is not hit at the full rate at once.
local function cooldown_factor(key, now)
  -- pcall: a key of an older rotor (a plain string) means no cooldown, not a failed request.
  local c = redis.pcall('HMGET', key, 'factor', 'until', 'ramp')
  if c.err then return 1 end
  local factor, till, ramp = tonumber(c[1]), tonumber(c[2]), tonumber(c[3]) or 0
  if not factor or not till or factor <= 0 or factor >= 1 then return 1 end
  if now < till then return factor end
  if ramp > 0 and now < till + ramp then return factor + (1 - factor) * (now - till) / ramp end
  return 1
end

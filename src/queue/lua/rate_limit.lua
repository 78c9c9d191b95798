-- rate_limit.lua
-- GCRA shared by every worker of a platform, slowed by the platform's cooldown.
-- KEYS: tat (string: the theoretical arrival time, ms), cooldown (hash, see cooldown.lua).
-- ARGV: interval_ms (between requests at the full rate), burst (requests allowed back to back
-- after a quiet spell, >= 1).
-- Returns the ms to wait as a string: '0' when the request is admitted (and counted).
--! include now_ms
--! include cooldown_factor
local now = now_ms()
local interval = tonumber(ARGV[1]) / cooldown_factor(KEYS[2], now)
local tau = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tau - now
if wait > 0 then return string.format('%.3f', wait) end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now + 1000))
return '0'

-- rate_limit.lua
-- GCRA. KEYS: tat, cooldown. ARGV: interval_ms, burst. Returns ms to wait (0: admitted).
--! include now_ms
local now = now_ms()
local interval = tonumber(ARGV[1])
local factor = tonumber(redis.call('GET', KEYS[2]) or '1')
if factor <= 0 then factor = 1 end
interval = interval / factor
local tau = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tau - now
if wait > 0 then return string.format('%.3f', wait) end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now + 1000))
return '0'

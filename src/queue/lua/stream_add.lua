-- stream_add.lua: a saved item's record into a results stream, once per (item, outcome) of a run:
-- a repeat after a crash between the save and the checkpoint adds nothing.
-- KEYS: stream, seen (hash of "item|outcome" -> 1 for the run).
-- ARGV: seen field, maxlen (approximate trim), seen_ttl_s, then field, value pairs.
-- Returns the new entry's id, or '' when the record was added before.
if redis.call('HSETNX', KEYS[2], ARGV[1], '1') == 0 then return '' end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*'}
for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
return redis.call(unpack(args))

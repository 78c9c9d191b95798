-- stream_add.lua: a saved item's record into a results stream, once per (item, outcome) of a run:
-- a repeat after a crash between the save and the checkpoint adds nothing. The record is marked
-- as added only after XADD succeeded (a script is not rolled back: marking first would lose the
-- record to an XADD error).
-- KEYS: stream, seen (hash of "item|outcome" -> 1 for the run).
-- ARGV: seen field, maxlen (approximate trim), seen_ttl_s, then field, value pairs.
-- Returns the new entry's id, or '' when the record was added before.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return '' end
local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*'}
for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
local id = redis.call(unpack(args))
redis.call('HSET', KEYS[2], ARGV[1], '1')
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return id

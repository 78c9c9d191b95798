-- fail_item.lua
-- KEYS: job, failures, checkpoint. ARGV: token, index, total, ttl_s, entry (JSON without time).
--! include now_ms
--! include fenced
--! include mark_done
--! include is_done
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST record_failure') end
-- An item already counted (a replay of this call) is not recorded twice.
if is_done(KEYS[3], tonumber(ARGV[2])) then
  return tonumber(redis.call('HGET', KEYS[3], 'processed_index') or '0')
end
local now = now_ms()
local entry = cjson.decode(ARGV[5])
entry['timestamp'] = now
redis.call('RPUSH', KEYS[2], cjson.encode(entry))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
redis.call('HINCRBY', KEYS[1], 'failed_items', 1)
return mark_done(KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3]), now, tonumber(ARGV[4]))

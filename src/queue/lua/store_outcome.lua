-- store_outcome.lua: an item's outcome and its checkpoint in one fenced step. A worker whose
-- lease was reaped writes nothing (not the new holder's results, not a finished job's keys), and
-- an item is never both a result and a failure: an item already counted (a replay of this call,
-- or an item redone after a resume) is not stored again.
-- KEYS: job, checkpoint, results (hash index -> result JSON), failures (list)[, cache (the
-- item's freshness entry)].
-- ARGV: token, index, total, ttl_s (checkpoint and failures), results_ttl_s, kind ('ok' or
-- 'failed'), payload (the result JSON, or the failure entry JSON without its timestamp)[,
-- cache_ttl_s, cache value: set with the result, so an item is cached only once it is stored].
-- Returns the checkpoint's processed_index after this item; error LEASE_LOST when not fenced.
--! include now_ms
--! include fenced
--! include mark_done
--! include is_done
if not fenced(KEYS[1], ARGV[1]) then return redis.error_reply('LEASE_LOST store_outcome') end
local index = tonumber(ARGV[2])
if is_done(KEYS[2], index) then
  return tonumber(redis.call('HGET', KEYS[2], 'processed_index') or '0')
end
local now = now_ms()
if ARGV[6] == 'ok' then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[7])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5]))
  if KEYS[5] and tonumber(ARGV[8] or '0') > 0 then
    redis.call('SET', KEYS[5], ARGV[9], 'EX', tonumber(ARGV[8]))
  end
else
  local entry = cjson.decode(ARGV[7])
  entry['timestamp'] = now
  redis.call('RPUSH', KEYS[4], cjson.encode(entry))
  redis.call('EXPIRE', KEYS[4], tonumber(ARGV[4]))
  redis.call('HINCRBY', KEYS[1], 'failed_items', 1)
end
redis.call('HSET', KEYS[1], 'updated_at', now)
return mark_done(KEYS[2], index, tonumber(ARGV[3]), now, tonumber(ARGV[4]))

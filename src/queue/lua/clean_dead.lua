-- clean_dead.lua
-- Deletes a platform's dead jobs that died more than older_than_ms ago (Redis's clock): their
-- hash, failures list and results hash, and their entry in the dead set. Their checkpoints
-- expire by themselves (node ids are not known here); their batch group keeps its counts.
-- KEYS: dead. ARGV: prefix, older_than_ms, limit (jobs per call).
-- Returns how many jobs it removed (fewer than limit: none older is left).
--! include now_ms
local prefix = ARGV[1]
local cutoff = string.format('%d', now_ms() - tonumber(ARGV[2]))
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff, 'LIMIT', 0,
                       tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local key = prefix .. 'job:' .. id
  local status = redis.call('HGET', key, 'status')
  -- An entry whose job is no longer dead (requeued meanwhile) only leaves the dead set.
  if status == 'dead' or not status then
    redis.call('DEL', key, prefix .. 'failures:' .. id, prefix .. 'results:' .. id)
  end
  redis.call('ZREM', KEYS[1], id)
end
return #ids

-- dead_letter.lua
-- Dead-letters a job its lease holder just found it cannot run (a malformed job: no retry can
-- help), whatever its attempts. Fenced like every write of a lease holder.
-- KEYS: job, running, dead, lock. ARGV: token, reason, prefix, lock mode, worker, dead_ttl_s, id.
-- Returns 'dead' ('already' for a replay), or a LEASE_LOST error when the lease is not ours.
--! include now_ms
--! include group_count
--! include bury
local f = redis.call('HMGET', KEYS[1], 'lease_token', 'status', 'group')
if f[1] == ARGV[1] and f[2] == 'dead' then return 'already' end
if f[1] ~= ARGV[1] or f[2] ~= 'running' then return redis.error_reply('LEASE_LOST dead_letter') end
redis.call('ZREM', KEYS[2], ARGV[7])
if ARGV[4] == 'platform' and redis.call('GET', KEYS[4]) == ARGV[5] then redis.call('DEL', KEYS[4]) end
bury(ARGV[3], KEYS[1], KEYS[3], ARGV[7], f[3], ARGV[2], string.format('%d', now_ms()), ARGV[6])
return 'dead'

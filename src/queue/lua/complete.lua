-- complete.lua
-- KEYS: job, running, lock. ARGV: token, prefix, lock mode, worker, done ttl_s.
--! include now_ms
--! include group_count
--! include complete_job
return complete_job(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
                    string.format('%d', now_ms()), ARGV[5])

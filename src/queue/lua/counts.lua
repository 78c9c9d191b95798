-- counts.lua
-- A platform's job counts, read together: one round trip instead of four, and one moment. Read
-- one by one, a drain (which wants queued, delayed and running all 0) could miss a job that a
-- release or a reap moved from running to queued between its queued and running reads, and
-- exit while nobody takes that job.
-- KEYS: queue, running, delayed, dead. ARGV: none.
-- Returns {queued, running, delayed, dead}.
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]),
        redis.call('ZCARD', KEYS[4])}

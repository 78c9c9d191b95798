-- counts.lua
-- A platform's job counts, read together: one round trip instead of four, and one moment (a
-- drain that read them one by one could see a retry promoted from delayed to queued between
-- its reads and find all of them 0 while that job waits).
-- KEYS: queue, running, delayed, dead. ARGV: none.
-- Returns {queued, running, delayed, dead}.
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]),
        redis.call('ZCARD', KEYS[4])}

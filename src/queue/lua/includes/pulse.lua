-- Liveness of the workers as a whole: renewals, heartbeats and reaps stamp the pulse key. A gap
-- longer than `gap_ms` means no worker could reach Redis (an outage, a failover, a restart): the
-- leases that expired meanwhile belong to workers that are probably alive, so reaping is held
-- for `hold_ms` to let them reconnect and renew instead of counting a stall against each job.
local function pulse(prefix, now, gap_ms, hold_ms)
  local key = prefix .. 'pulse'
  local last = tonumber(redis.call('GET', key) or '')
  redis.call('SET', key, string.format('%d', now))
  if last and now - last > gap_ms then
    redis.call('SET', prefix .. 'reap-hold', string.format('%d', now + hold_ms), 'PX', hold_ms)
  end
end

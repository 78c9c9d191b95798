local function fenced(job_key, token)
  local f = redis.call('HMGET', job_key, 'lease_token', 'status')
  return f[1] == token and f[2] == 'running'
end

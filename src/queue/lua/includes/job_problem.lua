-- params_problem(params): why a job's params cannot be run, or nil when they can.
-- The rule of the C++ side after a claim (detail/job_params.cpp, job_lease::items()), as far as
-- cjson can tell: params a JSON object whose product_ids is a non-empty array of strings or
-- finite numbers (and item_data, when present, an array of as many objects or nulls). cjson is
-- looser (NaN, 0x10, invalid UTF-8; [] and {} alike) and stricter (nesting deeper than 1000, a
-- leading byte-order mark): the C++ side, which parses every claimed job, has the last word.
local function params_problem(params)
  if not string.find(params, '^%s*{') then return 'params are not a JSON object' end
  local ok, p = pcall(cjson.decode, params)
  if not ok then return 'params are not valid JSON' end
  if type(p) ~= 'table' then return 'params are not a JSON object' end
  local ids = p['product_ids']
  if ids == nil then return 'params.product_ids is missing' end
  if type(ids) ~= 'table' then return 'params.product_ids is not an array' end
  local n = 0
  for k, v in pairs(ids) do
    n = n + 1
    if type(k) ~= 'number' then return 'params.product_ids is not an array' end
    if type(v) == 'number' then
      if v ~= v or v == math.huge or v == -math.huge then
        return 'params.product_ids holds a NaN or infinite number'
      end
    elseif type(v) ~= 'string' then
      return 'params.product_ids holds something other than strings and numbers'
    end
  end
  if n == 0 then return 'params.product_ids is empty' end
  local data = p['item_data']
  if data ~= nil then
    -- One object (or null) per product id: the values it was enqueued with besides its id.
    if type(data) ~= 'table' then return 'params.item_data is not an array' end
    local m = 0
    for k, v in pairs(data) do
      m = m + 1
      if type(k) ~= 'number' then return 'params.item_data is not an array' end
      if type(v) ~= 'table' and v ~= cjson.null then
        return 'params.item_data holds something other than objects and null'
      end
    end
    if m ~= n then
      return 'params.item_data has ' .. m .. ' entries for ' .. n .. ' product ids'
    end
  end
  return nil
end
-- job_problem(f): why a queued job cannot be run, or nil when it can.
-- f: HMGET of platform, params, workflow_id, attempts, max_attempts, group, lease_token,
-- params_checked (claim_next's order). Besides the params, attempts and max_attempts must be
-- numbers (fail's HINCRBY and the lease's parse need them).
-- params_checked: the byte length of the params rotor's enqueue wrote after checking them with
-- the C++ rule (job_queue::write_enqueue_chunk). Params of that length are not decoded again here
-- (cjson takes 4 us for 50 ids, 26 us with item values, on Redis's one thread at every claim);
-- params written by another producer, or changed since, are. The worker's check after the claim
-- reads every job's params.
local function job_problem(f)
  if not f[1] then return 'no platform field' end
  if not f[2] then return 'no params field' end
  if tonumber(f[8] or '') ~= #f[2] then
    local why = params_problem(f[2])
    if why then return why end
  end
  if f[4] and not tonumber(f[4]) then return 'attempts is not a number' end
  if f[5] and not tonumber(f[5]) then return 'max_attempts is not a number' end
  return nil
end

-- wrk script: order posts with a made-up token, a new one per request (a flood that no cache can
-- answer from memory). Every answer should be a 401; the flood mode counts them, it does not fail.
wrk.method = "POST"
local body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")
local chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

function request()
  local t = {}
  for i = 1, 43 do
    local n = math.random(#chars)
    t[i] = chars:sub(n, n)
  end
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer slt_" .. table.concat(t)}
  return wrk.format("POST", nil, headers, body)
end

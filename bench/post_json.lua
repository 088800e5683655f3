-- wrk script: POST one JSON body (env BENCH_BODY), with a Bearer token when BENCH_TOKEN is set.
-- Every request is the same; the server makes each one a new order.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or error("BENCH_BODY is not set")
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

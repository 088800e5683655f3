-- wrk script: sign-ins with a random username each time, from one address (all refused: 401,
-- then 429 once the address has failed too often).
local n = 0

function request()
  n = n + 1
  local body = string.format('{"username":"flood_%d_%d","password":"not-the-password"}', math.random(1e9), n)
  return wrk.format("POST", "/api/v1/auth/login", {["Content-Type"] = "application/json"}, body)
end

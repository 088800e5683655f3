-- wrk script: POST pre-signed WeChat Pay notifications from BENCH_NOTICES (one a line:
-- timestamp, nonce, signature, serial, body, tab-separated), each one once, in turn; after the
-- last it starts again (those copies are answered as duplicates: still 2xx, never applied twice).
local path = os.getenv("BENCH_NOTICES") or error("BENCH_NOTICES is not set")
local notices = {}
for line in io.lines(path) do
  local ts, nonce, sig, serial, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  notices[#notices + 1] = {ts = ts, nonce = nonce, sig = sig, serial = serial, body = body}
end
local next_one = 0

request = function()
  next_one = next_one % #notices + 1
  local n = notices[next_one]
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Wechatpay-Timestamp"] = n.ts,
    ["Wechatpay-Nonce"] = n.nonce,
    ["Wechatpay-Signature"] = n.sig,
    ["Wechatpay-Serial"] = n.serial,
  }, n.body)
end

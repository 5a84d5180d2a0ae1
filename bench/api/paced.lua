-- wrk script: the gateway benchmark's small JSON POST, each connection pausing BENCH_DELAY_MS (default 10)
-- between requests, so the gateway runs at a steady moderate rate instead of saturating the CPUs.
wrk.method = "POST"
wrk.body = '{"prompt":"hello","n":1}'
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["Authorization"] = "Key " .. key
end
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "10")
function delay()
  return pause
end

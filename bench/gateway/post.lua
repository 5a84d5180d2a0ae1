-- wrk script: POST a small JSON body, with `Authorization: Key $BENCH_KEY` when that variable is set.
wrk.method = "POST"
wrk.body = '{"prompt":"hello","n":1}'
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["Authorization"] = "Key " .. key
end

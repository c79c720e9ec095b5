-- wrk script: POST one Open Inference Protocol V2 infer body, report JSON.
--
-- The body is read from the file named by $WRK_BODY (write it with
--   python bench/loadgen.py --write-body /tmp/body-lr.json --features 30 [--binary]
-- which prints the headers to use). Optional: $WRK_CONTENT_TYPE (default
-- application/json) and $WRK_HEADER_LEN (binary tensor extension: sent as
-- Inference-Header-Content-Length). Usage (one wrk thread, C connections, 10 s window):
--   WRK_BODY=/tmp/body-lr.json \
--     wrk -t1 -c8 -d10s --timeout 30s -s bench/v2_post.lua http://127.0.0.1:18100/v2/models/lr/infer
-- wrk has no warm-up option: run a short throw-away wrk (-d2s) first
-- (loadgen.py --engine wrk does both and adds CPU accounting).
-- Prints one JSON line at the end (latencies in ms, errors = socket errors + non-2xx/3xx).

local path = os.getenv("WRK_BODY")
assert(path, "set WRK_BODY to the request body file")
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "application/json"
local hlen = os.getenv("WRK_HEADER_LEN")
if hlen and hlen ~= "" then
  wrk.headers["Inference-Header-Content-Length"] = hlen
end

-- $WRK_COUNT_STATUS=1 (the overload cell): count 503 answers and those carrying Retry-After.
-- Off by default: a response() callback makes wrk parse every response in Lua.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

if os.getenv("WRK_COUNT_STATUS") == "1" then
  n503 = 0
  retry_after = 0
  function response(status, headers, body)
    if status == 503 then
      n503 = n503 + 1
      if headers["Retry-After"] or headers["retry-after"] then
        retry_after = retry_after + 1
      end
    end
  end
end

local function counted(name)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get(name) or 0)
  end
  return total
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local errs = e.connect + e.read + e.write + e.timeout + e.status
  io.write(string.format(
    '{"generator":"wrk","requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"mean_ms":%.3f,"max_ms":%.3f,' ..
    '"errors":%d,"non2xx":%d,"timeouts":%d,"status_503":%d,"retry_after":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000, latency.max / 1000,
    errs, e.status, e.timeout, counted("n503"), counted("retry_after")))
end

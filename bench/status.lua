-- Shared by the wrk scripts: counts responses by status in every thread and prints
-- `status NNN: COUNT` lines at the end, so bench/run.sh can tell expected statuses (a
-- log-in's 303) from unexpected ones (a 200 re-render, a 403), which wrk alone would not.
local threads = {}
function register_thread(thread) table.insert(threads, thread) end
statuses = {}
local dumped = false
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  -- The first 4xx/5xx body of each thread goes to $BENCH_RAW, to see what went wrong.
  if status >= 400 and not dumped and os.getenv("BENCH_RAW") then
    dumped = true
    local f = io.open(os.getenv("BENCH_RAW") .. "/unexpected-" .. status .. "-" .. tostring(os.time()) .. ".html", "w")
    if f then f:write(body or ""); f:close() end
  end
end
done = function(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %d: %d\n", k, v)) end
end

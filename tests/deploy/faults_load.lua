-- wrk script of faults_test.sh: logged-in respondents saving distinct answers and reading
-- them back, every response checked, with a timeline for the recovery times.
--
--   FAULTS_DIR=DIR FAULTS_NAME=NAME wrk -tN -cN ... -s faults_load.lua URL -- FILE THREADS SEQBASE
--
-- Run with as many connections as threads (-tN -cN): a thread then has one request in
-- flight at a time, so each response belongs to the request sent just before it.
-- FILE has one respondent per line: "INDEX SESSION_COOKIE CSRF_TOKEN"; each thread takes
-- its own share (round robin by line), so no two requests for a respondent overlap.
-- Each respondent in turn: POST /survey/6 with mercado_atual = "fr<INDEX>s<SEQ>" (SEQ =
-- SEQBASE + a counter: every save distinct), then GET /survey/6, which must show
-- the respondent's own marker with a SEQ no older than their last acknowledged save
-- (303) and no other respondent's marker.
--
-- Outcomes (one key each): ok; 503 (with Retry-After) and 503-no-retry-after; 303-login
-- (session lost); LEAK (another respondent's marker on the page); STALE (a 200 page
-- without the own marker, or older than the last acknowledged save); any other status
-- by its number.
-- done() writes, in DIR:
--   NAME.result    "LOADRESULT requests=N ok=N failed=N socket_errors=N (...)
--                   statuses=KEY:N,..." and the recovery times (see below)
--   NAME.state     per respondent "INDEX LAST_ACKED_SEQ MAX_SENT_SEQ" (0: none)
-- Recovery: DIR/NAME.fault holds "START_MS END_MS" (epoch ms) of the fault. From the
-- outcomes in 100 ms buckets: first_ok_s = from the fault's end to the first ok answer
-- completed after it; steady_s = from the fault's end to the start of the last failure-free
-- stretch (the end of the last bucket with a failure), 0 when none came after the end;
-- end_s = from the fault's end to the last answer (the failure-free stretch is
-- end_s - steady_s long).

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } pq_timespec;
  int clock_gettime(int clk, pq_timespec *tp);
]]
local ts = ffi.new("pq_timespec")
local function now_ms()
  ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME, as `date +%s%3N` in the test
  return tonumber(ts.tv_sec) * 1000 + math.floor(tonumber(ts.tv_nsec) / 1000000)
end

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2])
  seqbase = tonumber(args[3])
  resp = {}
  local k = 0
  for line in io.lines(file) do
    local idx, sid, csrf = line:match("^(%d+)%s+(%S+)%s+(%S+)%s*$")
    if idx then
      if k % nthreads == tid - 1 then
        table.insert(resp, { idx = tonumber(idx), sid = sid, csrf = csrf })
      end
      k = k + 1
    end
  end
  if #resp == 0 then error("no respondents for thread " .. tid .. " in " .. file) end
  -- Flat tables: wrk copies them from the threads to done().
  acked, sent = {}, {}
  for _, r in ipairs(resp) do
    acked[r.idx] = 0
    sent[r.idx] = 0
  end
  codes = {}
  ok_at, bad_at = {}, {}
  i = 0
  counter = 0
  pending = nil
end

function request()
  local r = resp[(math.floor(i / 2) % #resp) + 1]
  local post = i % 2 == 0
  i = i + 1
  local h = { Cookie = "pesquisa_sid=" .. r.sid }
  if post then
    counter = counter + 1
    local seq = seqbase + counter
    sent[r.idx] = seq
    pending = { r = r, post = true, seq = seq }
    h["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", "/survey/6", h,
      "interesse_novo=provavelmente_sim&mercado_atual=fr" .. r.idx .. "s" .. seq
        .. "&csrf_token=" .. r.csrf)
  end
  pending = { r = r, post = false }
  return wrk.format("GET", "/survey/6", h)
end

-- The outcome of one response to `p` (the request it answers).
local function classify(p, status, hdrs, body)
  local loc = hdrs["Location"] or hdrs["location"] or ""
  if status == 303 and loc:find("/login", 1, true) then return "303-login" end
  if status == 503 then
    if hdrs["Retry-After"] or hdrs["retry-after"] then return "503" end
    return "503-no-retry-after"
  end
  if p.post then
    if status == 303 then
      if p.seq > acked[p.r.idx] then acked[p.r.idx] = p.seq end
      return "ok"
    end
    return tostring(status)
  end
  if status ~= 200 then return tostring(status) end
  local own = nil
  for idx, seq in body:gmatch("fr(%d+)s(%d+)") do
    if tonumber(idx) ~= p.r.idx then return "LEAK" end
    own = tonumber(seq)
  end
  if own == nil or own < acked[p.r.idx] then return "STALE" end
  return "ok"
end

function response(status, hdrs, body)
  if pending == nil then return end
  local key = classify(pending, status, hdrs, body)
  pending = nil
  codes[key] = (codes[key] or 0) + 1
  local b = math.floor(now_ms() / 100)
  if key == "ok" then
    ok_at[b] = (ok_at[b] or 0) + 1
  else
    bad_at[b] = (bad_at[b] or 0) + 1
  end
end

function done(summary, latency, requests)
  local dir, name = os.getenv("FAULTS_DIR"), os.getenv("FAULTS_NAME")
  local all, ok_b, bad_b = {}, {}, {}
  local st = io.open(dir .. "/" .. name .. ".state", "w")
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do all[k] = (all[k] or 0) + v end
    for k, v in pairs(t:get("ok_at")) do ok_b[k] = (ok_b[k] or 0) + v end
    for k, v in pairs(t:get("bad_at")) do bad_b[k] = (bad_b[k] or 0) + v end
    local a, s = t:get("acked"), t:get("sent")
    for idx, seq in pairs(s) do st:write(string.format("%d %d %d\n", idx, a[idx], seq)) end
  end
  st:close()

  local keys, parts, total, ok = {}, {}, 0, all["ok"] or 0
  for k in pairs(all) do table.insert(keys, k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    total = total + all[k]
    if k ~= "ok" then table.insert(parts, k .. ":" .. all[k]) end
  end

  -- Recovery, from the fault's window written by the test.
  local first_ok, steady, during, run_end = -1, -1, 0, -1
  local f = io.open(dir .. "/" .. name .. ".fault", "r")
  if f then
    local fs, fe = f:read("*n", "*n")
    f:close()
    local eb = math.floor(fe / 100)
    local first_b, last_bad, last_b = nil, nil, eb
    for b in pairs(ok_b) do
      if b >= eb and (first_b == nil or b < first_b) then first_b = b end
      if b > last_b then last_b = b end
    end
    for b, n in pairs(bad_b) do
      if b >= math.floor(fs / 100) then during = during + n end
      if b >= eb and (last_bad == nil or b > last_bad) then last_bad = b end
      if b > last_b then last_b = b end
    end
    run_end = ((last_b + 1) * 100 - fe) / 1000
    if first_b then first_ok = math.max(0, (first_b + 1) * 100 - fe) / 1000 end
    if last_bad == nil then steady = 0 else steady = ((last_bad + 1) * 100 - fe) / 1000 end
  end

  local e = summary.errors
  local out = io.open(dir .. "/" .. name .. ".result", "w")
  out:write(string.format(
    "LOADRESULT requests=%d ok=%d failed=%d socket_errors=%d (connect %d, read %d, write %d, timeout %d) statuses=%s first_ok_s=%.1f steady_s=%.1f end_s=%.1f failed_from_fault=%d p99_ms=%.1f\n",
    total, ok, total - ok, e.connect + e.read + e.write + e.timeout, e.connect, e.read,
    e.write, e.timeout, table.concat(parts, ","), first_ok, steady, run_end, during,
    latency:percentile(99) / 1000))
  out:close()
end

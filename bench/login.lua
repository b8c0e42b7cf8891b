-- wrk script: log-ins. Each request uses its own anonymous visitor (pre-session cookie and CSRF token
-- prepared by bench/run.sh), because a successful log-in retires the session it came from.
dofile("bench/status.lua")
local sessions = {}
for line in io.lines(os.getenv("LOGIN_FILE")) do
  local cookie, token = line:match("^(%S+) (%S+)$")
  if cookie then table.insert(sessions, { cookie = cookie, token = token }) end
end
local counter = 0
-- setup() runs in the main Lua state and gives each thread (wrk -t2) its own global
-- thread_offset; a `local` of that name here would shadow it and make both threads 0.
local next_offset = 0
thread_offset = 0
setup = function(thread)
  register_thread(thread)
  thread:set("thread_offset", next_offset)
  next_offset = next_offset + 1
end
request = function()
  counter = counter + 1
  -- Threads take alternate sessions (wrk -t2), so none is used twice.
  local i = ((counter * 2 + thread_offset) % #sessions) + 1
  local s = sessions[i]
  -- One of the 64 accounts bench/run.sh signs up, in turn: the server checks one password
  -- per account at a time (a burst for one account gets 429), and real log-ins come from
  -- many accounts.
  local account = (counter * 2 + thread_offset) % 64 + 1
  local body = "csrf_token=" .. s.token .. "&email=bench" .. account .. "%40exemplo.com.br&password=cavalo+correto+bateria+bench"
  return wrk.format("POST", "/login", {
    ["Cookie"] = "pesquisa_sid_pre=" .. s.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

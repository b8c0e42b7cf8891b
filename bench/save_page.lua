-- wrk script: respondents saving questionnaire page 1. Each request uses the next
-- (cookie, CSRF token) pair from SESSIONS_FILE, and a varying age, so every request is a
-- real write (an identical resubmission would be a no-op by design).
dofile("bench/status.lua")
local sessions = {}
for line in io.lines(os.getenv("SESSIONS_FILE")) do
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
  -- Threads take alternate respondents (wrk -t2), so no two requests race on one response.
  local s = sessions[((counter * 2 + thread_offset) % #sessions) + 1]
  local body = "csrf_token=" .. s.token .. "&idade=" .. (18 + counter % 80) .. "&moradores=3&renda_familiar=2a4sm"
  return wrk.format("POST", "/survey/1", {
    ["Cookie"] = "pesquisa_sid=" .. s.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

-- wrk script: respondents saving questionnaire page 1. Each request uses the next
-- (cookie, CSRF token) pair from bench/.sessions, and a varying age, so every request is a
-- real write (an identical resubmission would be a no-op by design).
local sessions = {}
for line in io.lines(os.getenv("SESSIONS_FILE")) do
  local cookie, token = line:match("^(%S+) (%S+)$")
  if cookie then table.insert(sessions, { cookie = cookie, token = token }) end
end
local counter = 0
request = function()
  counter = counter + 1
  local s = sessions[(counter % #sessions) + 1]
  local body = "csrf_token=" .. s.token .. "&idade=" .. (18 + counter % 80) .. "&moradores=3&renda_familiar=2a4sm"
  return wrk.format("POST", "/survey/1", {
    ["Cookie"] = "pesquisa_sid=" .. s.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

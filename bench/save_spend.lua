-- wrk script: respondents saving the spend page (PAGE, e.g. 5), whose questions carry
-- conditions and a consistency check in the questionnaire with logic. Each request uses
-- the next (cookie, CSRF token) pair from SESSIONS_FILE; the neighbourhood spend
-- alternates between two bands from one visit of a respondent to the next, so every
-- request is a real write. The other two answers (2 trips x R$ 101-500 against R$ 601-
-- 1.000 a month) keep the check `gasto_mensal_baixo` quiet: every save answers 303.
dofile("bench/status.lua")
local sessions = {}
for line in io.lines(os.getenv("SESSIONS_FILE")) do
  local cookie, token = line:match("^(%S+) (%S+)$")
  if cookie then table.insert(sessions, { cookie = cookie, token = token }) end
end
local path = "/survey/" .. assert(os.getenv("PAGE"), "PAGE is not set")
local bands = { "ate_100", "101a500" }
local counter = 0
-- As in bench/save_page.lua: setup() gives each thread (wrk -t2) its own offset.
local next_offset = 0
thread_offset = 0
setup = function(thread)
  register_thread(thread)
  thread:set("thread_offset", next_offset)
  next_offset = next_offset + 1
end
request = function()
  counter = counter + 1
  local half = math.floor(#sessions / 2)
  local s = sessions[((counter * 2 + thread_offset) % #sessions) + 1]
  -- A thread comes back to a respondent every `half` requests: the band changes then.
  local band = bands[(math.floor(counter / half) % 2) + 1]
  local body = "csrf_token=" .. s.token .. "&valor_compra=101a500&gasto_mensal=601a1000&gasto_bairro=" .. band
  return wrk.format("POST", path, {
    ["Cookie"] = "pesquisa_sid=" .. s.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

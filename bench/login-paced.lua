-- wrk script: log-ins at a set pace (bench/login.lua's requests, each connection waiting
-- LOGIN_PACE_MS between them), so that two hash costs can be compared at one log-in rate.
dofile("bench/login.lua")
local pace = tonumber(os.getenv("LOGIN_PACE_MS") or "290")
function delay()
  return pace
end

-- wrk script: one logged-in account posting wrong current passwords to /account/password
-- as fast as it can (FLOOD_COOKIE, FLOOD_TOKEN: its session cookie and CSRF token), the
-- hashing flood of security issue 16, finding 5.
dofile("bench/status.lua")
setup = function(thread) register_thread(thread) end
local body = "csrf_token=" .. os.getenv("FLOOD_TOKEN")
  .. "&current_password=palpite+errado+demais&password=outra+senha+bem+comprida"
  .. "&password_confirm=outra+senha+bem+comprida"
-- Each connection waits FLOOD_PACE_MS (default 100) between its requests: 100 connections
-- offer up to 1,000 attempts a second, a flood the server must shrug off, rather than
-- as many cheap refusals as the shared cores can turn round (which would measure wrk).
local pace = tonumber(os.getenv("FLOOD_PACE_MS") or "100")
function delay()
  return pace
end
request = function()
  return wrk.format("POST", "/account/password", {
    ["Cookie"] = "pesquisa_sid=" .. os.getenv("FLOOD_COOKIE"),
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

-- wrk script of failover_test.sh: load through nginx from logged-in respondents, with
-- every response classified (wrk itself counts a 303 to /login as a success).
--
--   wrk ... -s failover_load.lua URL -- MODE FILE THREADS HOST
--
-- FILE has one respondent per line: "SESSION_COOKIE CSRF_TOKEN". Each wrk thread takes
-- its own share of the lines (round robin by line number), so no two connections work
-- for the same respondent at the same time.
-- MODE
--   get     GET /survey/1 as the first respondent only; good = 200.
--   submit  per respondent POST /survey/1 to /7, then /survey/submit, over and over,
--           round robin over the respondents; good = 303 not to /login.
--   mixed   GET /survey/N and POST /survey/N alternately, N = 1..4, round robin;
--           good = 200, or 303 not to /login.
-- done() prints one line: "LOADRESULT requests=N good=N bad=N socket_errors=N
-- statuses=CODE:N,..." (bad: responses that are not good; socket errors: connect, read,
-- write and timeout errors as wrk counts them).

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- The questionnaire's seven pages (version 3), as failover_test.sh's probe posts them.
local pages = {
  "idade=34&moradores=3&renda_familiar=2a4sm",
  "responsavel_compras=sim&sexo=feminino",
  "frequencia_supermercado=4x_ou_mais",
  "distancia_supermercado=ate_500m&fatores_escolha=preco&fatores_escolha=proximidade&importancia_fatores__preco=5&importancia_fatores__distancia=4&importancia_fatores__qualidade=5&importancia_fatores__variedade=3&importancia_fatores__atendimento=4",
  "valor_compra=101a500&gasto_mensal=601a1000&gasto_bairro=ate_100",
  "interesse_novo=provavelmente_sim",
  "cceb_banheiros=1&cceb_automoveis=1&cceb_microcomputador=1&cceb_geladeira=1&cceb_tem_lava_loucas=nao&cceb_tem_lava_roupas=sim&cceb_tem_micro_ondas=sim&cceb_agua_encanada=sim&cceb_servico_domestico=nao&cceb_instrucao_chefe_2026=medio_completo",
}

function init(args)
  mode = args[1]
  local file = args[2]
  local nthreads = tonumber(args[3])
  host = args[4]
  resp = {}
  local k = 0
  for line in io.lines(file) do
    local sid, csrf = line:match("^(%S+)%s+(%S+)%s*$")
    if sid then
      if mode == "get" then
        if k == 0 then table.insert(resp, { sid = sid, csrf = csrf }) end
      elseif k % nthreads == tid - 1 then
        table.insert(resp, { sid = sid, csrf = csrf })
      end
      k = k + 1
    end
  end
  if #resp == 0 then error("no respondents for thread " .. tid .. " in " .. file) end
  i = 0
  good = 0
  bad = 0
  codes = {}
end

local function headers(r, post)
  local h = { Host = host, Cookie = "pesquisa_sid=" .. r.sid }
  if post then h["Content-Type"] = "application/x-www-form-urlencoded" end
  return h
end

function request()
  local n = #resp
  local r = resp[(i % n) + 1]
  local round = math.floor(i / n)
  i = i + 1
  if mode == "get" then
    return wrk.format("GET", "/survey/1", headers(r, false))
  elseif mode == "submit" then
    local step = round % (#pages + 1)
    if step < #pages then
      return wrk.format("POST", "/survey/" .. (step + 1), headers(r, true),
        pages[step + 1] .. "&csrf_token=" .. r.csrf)
    end
    return wrk.format("POST", "/survey/submit", headers(r, true), "csrf_token=" .. r.csrf)
  else
    local page = (math.floor(round / 2) % #pages) + 1
    if round % 2 == 0 then
      return wrk.format("GET", "/survey/" .. page, headers(r, false))
    end
    return wrk.format("POST", "/survey/" .. page, headers(r, true),
      pages[page] .. "&csrf_token=" .. r.csrf)
  end
end

function response(status, hdrs, body)
  local loc = hdrs["Location"] or hdrs["location"] or ""
  local ok
  if mode == "get" then
    ok = status == 200
  elseif mode == "submit" then
    ok = status == 303 and loc:find("/login", 1, true) == nil
  else
    ok = status == 200 or (status == 303 and loc:find("/login", 1, true) == nil)
  end
  if ok then good = good + 1 else bad = bad + 1 end
  local key = tostring(status)
  if status == 303 and loc:find("/login", 1, true) then key = "303-login" end
  codes[key] = (codes[key] or 0) + 1
end

function done(summary, latency, requests)
  local g, b, all = 0, 0, {}
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
    for k, v in pairs(t:get("codes")) do all[k] = (all[k] or 0) + v end
  end
  local keys = {}
  for k in pairs(all) do table.insert(keys, k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do table.insert(parts, k .. ":" .. all[k]) end
  local e = summary.errors
  io.write(string.format(
    "LOADRESULT requests=%d good=%d bad=%d socket_errors=%d (connect %d, read %d, write %d, timeout %d) statuses=%s p99_ms=%.1f\n",
    g + b, g, b, e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write,
    e.timeout, table.concat(parts, ","), latency:percentile(99) / 1000))
end

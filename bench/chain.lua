-- wrk: token grants that feed themselves, for runs of any length (bench/memory.sh).
-- GRANT=client_credentials: the application's own token ($GRANTS_FILE's first line: "client-id secret").
-- GRANT=refresh_token: refresh with rotation; each answer's new refresh token is spent next, so a
--   thread needs only a few tokens to start from ("code refresh-token" lines; thread k of
--   $WRK_THREADS takes every k-th line, 256 at most).
-- GRANT=authorization_code: a signed-in browser ($SESSION_COOKIE) asks /oauth2/authorize (single
--   sign-on: an immediate redirect with a code), and the code is exchanged next.
-- Each thread counts the token responses that succeeded; done() prints "grants N refused M" and,
-- with $CHAIN_OUT, writes refresh tokens there in the seed's format (the next refresh run's
-- $GRANTS_FILE): a refresh run's not spent yet, a code exchange run's first 512 per thread.
local threads = {}
local counter = 0
grant_of_run = os.getenv("GRANT")

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local b64 = dofile("bench/basic.lua").b64

function init(args)
  local n = tonumber(os.getenv("WRK_THREADS") or "1")
  grant = os.getenv("GRANT")
  cookie = os.getenv("SESSION_COOKIE")
  queue, head, tail = {}, 1, 0
  grants, refused = 0, 0
  fresh = {}
  local i = -1
  for line in io.lines(os.getenv("GRANTS_FILE")) do
    if i == -1 then
      client_id, secret = line:match("^(%S+) (%S+)$")
      auth = "Basic " .. b64(client_id .. ":" .. secret)
    elseif grant == "refresh_token" and i % n == tid - 1 then
      local _, refresh = line:match("^(%S+) (%S+)$")
      tail = tail + 1; queue[tail] = refresh
    end
    i = i + 1
    if grant ~= "refresh_token" or tail >= 256 then break end
  end
  form = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = auth }
  authorize = "/oauth2/authorize?response_type=code&scope=openid&state=s&client_id=" .. client_id ..
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb"
end

local function pop()
  if head > tail then return nil end
  local v = queue[head]; queue[head] = nil; head = head + 1
  return v
end

function request()
  if grant == "client_credentials" then
    return wrk.format("POST", "/oauth2/token", form, "grant_type=client_credentials")
  end
  local v = pop()
  if grant == "refresh_token" then
    if v == nil then wrk.thread:stop(); v = "none" end
    return wrk.format("POST", "/oauth2/token", form, "grant_type=refresh_token&refresh_token=" .. v)
  end
  if v == nil then
    return wrk.format("GET", authorize, { ["Cookie"] = cookie })
  end
  return wrk.format("POST", "/oauth2/token", form,
    "grant_type=authorization_code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code=" .. v)
end

function response(status, headers, body)
  if status == 302 or status == 303 then
    local code = (headers["Location"] or headers["location"] or ""):match("[?&]code=([^&]+)")
    if code then tail = tail + 1; queue[tail] = code else refused = refused + 1 end
    return
  end
  if status ~= 200 then refused = refused + 1; return end
  grants = grants + 1
  local r = body:match('"refresh_token":"([^"]+)"')
  if r and grant == "refresh_token" then
    tail = tail + 1; queue[tail] = r
  elseif r and #fresh < 512 then
    -- A code exchange's refresh tokens start the refresh runs' chains.
    fresh[#fresh + 1] = r
  end
end

function done(summary, latency, requests)
  local g, r = 0, 0
  local out = os.getenv("CHAIN_OUT")
  local f = out and io.open(out, "w")
  if f then
    for line in io.lines(os.getenv("GRANTS_FILE")) do f:write(line, "\n"); break end
  end
  for _, t in ipairs(threads) do
    g = g + t:get("grants"); r = r + t:get("refused")
    -- The refresh tokens not spent yet, for the next run ($CHAIN_OUT, in the seed's format).
    if f and grant_of_run == "refresh_token" then
      local q = t:get("queue")
      for i = t:get("head"), t:get("tail") do
        if q[i] then f:write("- ", q[i], "\n") end
      end
    elseif f and grant_of_run == "authorization_code" then
      for _, r in ipairs(t:get("fresh")) do f:write("- ", r, "\n") end
    end
  end
  if f then f:close() end
  io.write(string.format("grants %d refused %d\n", g, r))
end

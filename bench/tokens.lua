-- wrk: token requests. $GRANTS_FILE's first line is "client-id secret"; then "code refresh-token"
-- lines (`proofup seed --oidc-grants`). $GRANT is authorization_code or refresh_token; thread k of
-- $WRK_THREADS takes every k-th line, so no code or refresh token is sent twice (each is spent
-- by its request), and a thread stops when its lines are spent. GRANT=client_credentials needs
-- only the first line. $TOKEN_PATH is the token endpoint (default /oauth2/token; bench/peer.sh
-- points it at the peer's /token).
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local b64 = dofile("bench/basic.lua").b64

function init(args)
  path = os.getenv("TOKEN_PATH") or "/oauth2/token"
  local n = tonumber(os.getenv("WRK_THREADS") or "1")
  grant = os.getenv("GRANT")
  entries = {}
  local i = -1
  for line in io.lines(os.getenv("GRANTS_FILE")) do
    if i == -1 then
      local id, secret = line:match("^(%S+) (%S+)$")
      auth = "Basic " .. b64(id .. ":" .. secret)
    elseif i % n == tid - 1 then
      local code, refresh = line:match("^(%S+) (%S+)$")
      table.insert(entries, grant == "refresh_token" and refresh or code)
    end
    i = i + 1
  end
  idx = 0
end

function request()
  local body
  if grant == "client_credentials" then
    return wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = auth,
    }, "grant_type=client_credentials")
  end
  idx = idx + 1
  local v = entries[idx]
  if v == nil then
    wrk.thread:stop()
    v = "spent"
  end
  if grant == "refresh_token" then
    body = "grant_type=refresh_token&refresh_token=" .. v
  else
    body = "grant_type=authorization_code&code=" .. v .. "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb"
  end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = auth,
  }, body)
end

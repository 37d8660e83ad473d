-- wrk: second steps of sign-in. Each request spends one seeded session that waits for a code
-- (`proofup seed --totp-sessions`), with its authenticator-app code for the current 30-second
-- step (bench/codes.py, run just before). $TOTP_FILE holds "token code" lines; thread k of
-- $WRK_THREADS takes every k-th line, so no session or code is sent twice.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("WRK_THREADS") or "1")
  entries = {}
  local i = 0
  for line in io.lines(os.getenv("TOTP_FILE")) do
    if i % n == tid - 1 then
      local token, code = line:match("^(%S+) (%d+)$")
      table.insert(entries, { token, code })
    end
    i = i + 1
  end
  idx = 0
  origin = os.getenv("ORIGIN")
end

-- Each thread stops once its sessions are spent, so a run measures only valid steps
-- (wrk then counts requests over the time the threads actually ran).
function response(status, headers, body)
  if idx >= #entries then
    wrk.thread:stop()
  end
end

function request()
  idx = idx + 1
  -- Past the end the last entry repeats: its replies are refusals, counted as non-2xx by wrk
  -- (the script reports them; a valid run has none).
  local e = entries[math.min(idx, #entries)]
  return wrk.format("POST", "/api/auth/second-factor", {
    ["Content-Type"] = "application/json",
    ["Origin"] = origin,
    ["Cookie"] = "proofup_session=" .. e[1],
  }, '{"code":"' .. e[2] .. '"}')
end

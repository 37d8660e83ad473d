-- wrk: password sign-ins (correct password: one Argon2id verify each), cycling through the
-- benchmark accounts bench.user1..8 so that no account has more than a few attempts in flight
-- (the account throttle reserves each attempt before it is checked).
local n = 0
local password = os.getenv("BENCH_PASSWORD")
local origin = os.getenv("ORIGIN")

function request()
  n = n % 8 + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Origin"] = origin,
  }, '{"username":"bench.user' .. n .. '","password":"' .. password .. '"}')
end

-- wrk: password sign-ins as the benchmark administrator (correct password: one Argon2id verify each).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = os.getenv("ORIGIN")
wrk.body = '{"username":"bench.admin","password":"' .. os.getenv("BENCH_PASSWORD") .. '"}'

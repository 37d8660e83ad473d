#!/usr/bin/env bash
# The token endpoint on loopback with the release binary and wrk: code exchanges and refresh
# grants per second and their p99, against GET /healthz of the same run and server. Each request
# spends one seeded code or refresh token (`proofup seed --oidc-grants`). The bound per request
# (one RS256 signature + one durable write) comes from `cargo bench -p proofup --bench tokens`.
# Usage: bench/tokens.sh [grants] (default 60000: enough that no run spends them all at ~2,000/s). Prints a Markdown table; see docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
GRANTS=${1:-60000}
DUR=${DUR:-5}
command -v wrk >/dev/null && command -v bc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk bc >/dev/null; }
make -s ui >/dev/null
cargo build -q --release -p proofup
BIN=target/release/proofup
WORK=$(mktemp -d)
PORT=${PORT:-18182}
BASE=http://localhost:$PORT
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
rps() { awk '/Requests\/sec/ {print $2}'; }
non2xx() { awk '/Non-2xx/ {n=$5} END {print n+0}'; }
pct() { awk -v p="$1" '$1==p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'; }

$BIN seed --data-dir "$WORK/data" --users 1000 --groups 50 --oidc-grants "$GRANTS" --grants-out "$WORK/grants" >/dev/null
$BIN serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" --log-format json >"$WORK/log" 2>&1 &
PID=$!
until curl -sf $BASE/readyz >/dev/null; do kill -0 $PID 2>/dev/null || { cat "$WORK/log"; exit 1; }; sleep 0.01; done
# Each grant's lines split in two: the first half for the throughput runs, the second for p99.
head -n 1 "$WORK/grants" >"$WORK/a"; head -n 1 "$WORK/grants" >"$WORK/b"
tail -n +2 "$WORK/grants" | awk -v a="$WORK/a" -v b="$WORK/b" 'NR % 2 {print >> a; next} {print >> b}'

echo "| Measure | Result | Against | Ratio |"
echo "|---|---|---|---|"
HZ=$(wrk --latency -t2 -c32 -d${DUR}s $BASE/healthz 2>/dev/null | rps)
row "GET /healthz requests/s (32 connections)" "$HZ" "" ""
for grant in authorization_code refresh_token; do
  OUT=$(GRANT=$grant GRANTS_FILE=$WORK/a WRK_THREADS=2 wrk --latency -t2 -c32 -d${DUR}s -s bench/tokens.lua $BASE 2>/dev/null)
  R=$(echo "$OUT" | rps)
  row "POST /oauth2/token $grant requests/s (32 connections)" "$R" "/healthz $HZ/s; refused: $(echo "$OUT" | non2xx)" "$(echo "scale=3; $R / $HZ" | bc)"
  row "… p99 at that load" "$(echo "$OUT" | pct 99%) ms" "" ""
  OUT=$(GRANT=$grant GRANTS_FILE=$WORK/b WRK_THREADS=1 wrk --latency -t1 -c1 -d${DUR}s -s bench/tokens.lua $BASE 2>/dev/null)
  row "POST /oauth2/token $grant unloaded p50 / p99 (1 connection)" "$(echo "$OUT" | pct 50%) / $(echo "$OUT" | pct 99%) ms" "refused: $(echo "$OUT" | non2xx)" ""
done
# Cacheable: discovery and JWKS.
for path in /.well-known/openid-configuration /oauth2/jwks; do
  row "GET $path Cache-Control" "$(curl -s -D - -o /dev/null $BASE$path | awk -F': ' 'tolower($1)=="cache-control" {print $2}' | tr -d '\r')" "" ""
done

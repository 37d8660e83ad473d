#!/usr/bin/env bash
# Proofup's token endpoint beside a peer in the same run: panva's oidc-provider (npm, the certified
# OpenID provider library; its in-memory adapter over an unbounded map, RS256 ID tokens, refresh rotation on), set up by
# bench/peer/provider.mjs. Each server in turn is pinned to CPU 0, wrk to CPU 1; each request
# spends one seeded code or refresh token (bench/tokens.lua), client_credentials spends nothing.
# Prints rates, p99s and RSS before/after (peak too) as a Markdown table; see docs/performance.md.
# Usage: bench/peer.sh [grants per server] (default 160000: a quarter per run, enough for 5,000/s).
# DUR=seconds per run (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
PEER_VERSION=9.13.3
GRANTS=${1:-160000}
DUR=${DUR:-8}
command -v wrk >/dev/null && command -v bc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk bc >/dev/null; }
PEER=.tools/peer
grep -qs "\"version\": \"$PEER_VERSION\"" $PEER/node_modules/oidc-provider/package.json ||
  npm install --prefix $PEER --no-audit --no-fund --silent oidc-provider@$PEER_VERSION
cp bench/peer/provider.mjs $PEER/provider.mjs
make -s ui >/dev/null
cargo build -q --release -p proofup
BIN=target/release/proofup
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
rps() { awk '/Requests\/sec/ {printf "%d", $2}'; }
non2xx() { awk '/Non-2xx/ {n=$5} END {print n+0}'; }
pct() { awk -v p="$1" '$1==p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}'; }
rss() { awk '/^VmRSS/ {printf "%d", $2/1024}' /proc/$PID/status; }
hwm() { awk '/^VmHWM/ {printf "%d", $2/1024}' /proc/$PID/status; }

# measure NAME BASE TOKEN_PATH GRANTS_FILE: one line per grant and concurrency into $WORK/NAME.
measure() {
  local name=$1 base=$2 path=$3 grants=$4 slice=$(( GRANTS / 4 )) k=0
  echo "rss_before $(rss)" >"$WORK/$name"
  for grant in client_credentials refresh_token authorization_code; do
    for c in 8 32; do
      { head -n 1 "$grants"; tail -n +2 "$grants" | sed -n "$(( k * slice + 1 )),$(( (k + 1) * slice ))p"; } >"$WORK/slice"
      [ $grant = client_credentials ] || k=$(( k + 1 ))
      OUT=$(GRANT=$grant GRANTS_FILE=$WORK/slice WRK_THREADS=2 TOKEN_PATH=$path \
        taskset -c 1 wrk --latency -t2 -c$c -d${DUR}s -s bench/tokens.lua "$base" 2>/dev/null)
      echo "$grant $c $(echo "$OUT" | rps) $(echo "$OUT" | pct 50%) $(echo "$OUT" | pct 99%) $(echo "$OUT" | non2xx)" >>"$WORK/$name"
    done
  done
  echo "rss_after $(rss) $(hwm)" >>"$WORK/$name"
}

# Proofup: the embedded store, seeded grants.
PORT=18182
$BIN seed --data-dir "$WORK/data" --users 1000 --groups 50 --oidc-grants "$GRANTS" --grants-out "$WORK/p-grants" >/dev/null
taskset -c 0 $BIN serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" --log-format json >"$WORK/p-log" 2>&1 &
PID=$!
until curl -sf http://localhost:$PORT/readyz >/dev/null; do kill -0 $PID 2>/dev/null || { cat "$WORK/p-log"; exit 1; }; sleep 0.05; done
measure proofup http://localhost:$PORT /oauth2/token "$WORK/p-grants"
kill $PID; wait $PID 2>/dev/null || true

# The peer.
PORT=18190
(cd $PEER && PORT=$PORT GRANTS=$GRANTS GRANTS_OUT="$WORK/o-grants" exec taskset -c 0 node provider.mjs) >"$WORK/o-log" 2>&1 &
PID=$!
until grep -qs "^ready" "$WORK/o-log"; do kill -0 $PID 2>/dev/null || { cat "$WORK/o-log"; exit 1; }; sleep 0.2; done
PID=$(pgrep -f "node provider.mjs" | head -n 1)
measure peer http://localhost:$PORT /token "$WORK/o-grants"
kill $PID; PID=

echo "Node $(node --version), oidc-provider $PEER_VERSION; ${DUR} s per run; refused requests (non-2xx) in brackets."
echo
echo "| Grant, connections | Proofup /s | oidc-provider /s | ratio | p50 Proofup / peer (ms) | p99 Proofup / peer (ms) |"
echo "|---|---|---|---|---|---|"
paste -d' ' <(grep -v rss "$WORK/proofup") <(grep -v rss "$WORK/peer") | while read -r g c r p50 p99 bad _ _ r2 q50 q99 bad2; do
  echo "| $g, $c | $r [$bad] | $r2 [$bad2] | $(echo "scale=2; $r / $r2" | bc) | $p50 / $q50 | $p99 / $q99 |"
done
read -r _ pb < <(grep rss_before "$WORK/proofup"); read -r _ pa ph < <(grep rss_after "$WORK/proofup")
read -r _ ob < <(grep rss_before "$WORK/peer"); read -r _ oa oh < <(grep rss_after "$WORK/peer")
echo "| RSS before → after (peak), MiB | $pb → $pa ($ph) | $ob → $oa ($oh) | $(echo "scale=2; $pa / $oa" | bc) | | |"

#!/usr/bin/env bash
# Memory under token load (issue 31, target 1): the release binary's RSS before and after N token
# grants of each kind — client credentials, refresh with rotation, authorize (single sign-on) with
# its code exchange — with access tokens living one minute, so that the minute's sweep removes
# them as in production, then idle past two sweeps. "Before" is a warmed server: the directory
# ($USERS users) loaded and 20,000 grants of each kind already made. Each request feeds the next
# (bench/chain.lua), so a run of any length needs no seeded tokens beyond a few.
# Usage: bench/memory.sh [grants per kind] [users] (defaults 1000000 and 100000). ENGINE=postgres:
# the same on a throw-away PostgreSQL cluster (the store's data there, the server's memory here).
# Prints a Markdown table; see docs/performance.md. About 25 minutes at the defaults on sled.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
USERS=${2:-100000}
command -v wrk >/dev/null && command -v bc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk bc >/dev/null; }
if [ -z "${BIN:-}" ]; then make -s ui >/dev/null; cargo build -q --release -p proofup; BIN=target/release/proofup; fi
WAIT=${WAIT:-130} # two sweeps (the grant sweep runs every minute)
WARM=${WARM:-20000}
WORK=$(mktemp -d)
PORT=${PORT:-18183}
BASE=http://localhost:$PORT
export ORIGIN=$BASE
PW="violet harbor bench 2048 pass"
PID=
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null
  [ -d "$WORK/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
rss() { awk '/^VmRSS/ {printf "%d", $2/1024}' /proc/$PID/status; }
hwm() { awk '/^VmHWM/ {printf "%d", $2/1024}' /proc/$PID/status; }
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }

$BIN seed --data-dir "$WORK/data" --users "$USERS" --groups $(( USERS / 20 )) --oidc-grants 1 \
  --access-token-minutes 1 --grants-out "$WORK/grants" >/dev/null
SERVE_DB=(); SETUP_DB=()
if [ "${ENGINE:-sled}" = postgres ]; then
  mkdir -p "$WORK/pg"; chmod a+x "$WORK"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres -E UTF8 >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=200" \
    -l "$WORK/pg/log" -w start >/dev/null
  as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc 'CREATE DATABASE proofup'
  DBURL="postgres://postgres@127.0.0.1:$PGPORT/proofup"
  $BIN migrate --from-data-dir "$WORK/data" --to "$DBURL" >/dev/null
  SERVE_DB=(--database-url "$DBURL" --db-pool-size 16); SETUP_DB=(--database-url "$DBURL")
fi
$BIN serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" --log-format json "${SERVE_DB[@]}" >"$WORK/log" 2>&1 &
PID=$!
until curl -sf $BASE/readyz >/dev/null; do kill -0 $PID 2>/dev/null || { cat "$WORK/log"; exit 1; }; sleep 0.05; done
sleep 3
IDLE=$(rss)
# A browser signed in (the first administrator) for single sign-on.
TOKEN=$($BIN setup-url --listen 127.0.0.1:$PORT --data-dir "$WORK/data" "${SETUP_DB[@]}" | sed 's/.*token=//')
curl -sf -o /dev/null -H 'Content-Type: application/json' -H "Origin: $BASE" \
  -d "{\"token\":\"$TOKEN\",\"username\":\"bench.admin\",\"display_name\":\"Bench\",\"password\":\"$PW\"}" $BASE/api/setup
export SESSION_COOKIE=$(curl -si -H 'Content-Type: application/json' -H "Origin: $BASE" \
  -d "{\"username\":\"bench.admin\",\"password\":\"$PW\"}" $BASE/api/auth/sign-in \
  | awk -F'[ ;]' 'tolower($1)=="set-cookie:" && $2 ~ /^proofup_session=/ {print $2}')

# run GRANT COUNT [FILE]: wrk runs until COUNT grants of one kind succeeded (the first 10 s, then
# as long as its rate says the rest takes). A refresh run starts its chains from FILE and carries
# them from run to run; a code exchange run leaves refresh tokens to start from in FILE. Prints the
# grants, their rate and the refusals.
run() {
  local got=0 refused=0 ms=0 d=10 out t
  [ "$1" = refresh_token ] && cp "$3" "$WORK/chain"
  [ "$1" = authorization_code ] && head -n 1 "$WORK/grants" >"$3"
  while [ "$got" -lt "$2" ]; do
    t=$(date +%s%N)
    out=$(CHAIN_OUT=$WORK/chain.next GRANT=$1 GRANTS_FILE=$([ "$1" = refresh_token ] && echo "$WORK/chain" || echo "$WORK/grants") \
      WRK_THREADS=2 wrk -t2 -c16 -d${d}s -s bench/chain.lua $BASE 2>/dev/null | awk '/^grants/ {print $2, $4}')
    ms=$(( ms + ($(date +%s%N) - t) / 1000000 ))
    [ "${out% *}" -gt 0 ] || { echo "no grant succeeded ($1)" >&2; tail -5 "$WORK/log" >&2; exit 1; }
    got=$(( got + ${out% *} )); refused=$(( refused + ${out#* } ))
    [ "$1" = refresh_token ] && mv "$WORK/chain.next" "$WORK/chain"
    [ "$1" = authorization_code ] && tail -n +2 "$WORK/chain.next" >>"$3"
    d=$(( ($2 - got) * ms / got / 1000 + 1 )); [ $d -ge 3 ] || d=3
  done
  echo "$got $(( got * 1000 / ms )) $refused"
}

# The kinds in this order: the code exchanges leave the refresh tokens the refresh runs start from
# (the engine's own: a store migrated into PostgreSQL has no tokens).
KINDS="client_credentials authorization_code refresh_token"
for g in $KINDS; do run $g "$WARM" "$WORK/warm" >/dev/null; done
sleep "$WAIT" # two sweeps
BEFORE=$(rss)
echo "| Measure | Result | Against | Ratio |"
echo "|---|---|---|---|"
row "RSS idle after start ($USERS users, ${ENGINE:-sled})" "$IDLE MiB" "" ""
row "RSS before: warmed ($WARM grants of each kind, two sweeps)" "$BEFORE MiB" "" ""
for g in $KINDS; do
  read -r GOT RATE REFUSED <<<"$(run $g "$N" "$WORK/main")"
  row "$g: $GOT grants at ~$RATE/s (refused $REFUSED)" "$(rss) MiB right after" "before $BEFORE MiB" "$(echo "scale=2; $(rss) / $BEFORE" | bc)"
done
PEAK=$(hwm)
sleep "$WAIT" # two sweeps: every access token above has expired and is removed
AFTER=$(rss)
row "RSS after all of them and two sweeps" "$AFTER MiB" "before $BEFORE MiB; target ≤ 1.2× and < 300 MiB" "$(echo "scale=2; $AFTER / $BEFORE" | bc)"
row "Peak RSS (VmHWM)" "$PEAK MiB" "" ""
[ "${ENGINE:-sled}" = sled ] && row "Data directory" "$(du -sm "$WORK/data" | cut -f1) MiB" "" ""
exit 0

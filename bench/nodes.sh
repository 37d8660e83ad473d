#!/usr/bin/env bash
# One node against two on the same PostgreSQL database (release binary, wrk on loopback, a
# throw-away cluster). This machine has 2 cores, so each node is pinned to one (taskset): node A
# on CPU 0, node B on CPU 1; PostgreSQL and the load generator are not pinned and share both.
# Measures password sign-ins/s (Argon2id-bound: they should scale with hash cores) and TOTP steps/s
# (store-bound), and how much CPU PostgreSQL spends per step. Usage: bench/nodes.sh [users]
# (default 20000). Prints a Markdown table; see docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${1:-20000}
DUR=${DUR:-10}
command -v wrk >/dev/null && command -v bc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk bc >/dev/null; }
make -s ui >/dev/null
cargo build -q --release -p proofup
BIN=target/release/proofup
WORK=$(mktemp -d)
PA=${PORT:-18281}; PB=$((PA + 1))
A=http://localhost:$PA; B=http://localhost:$PB
export BENCH_PASSWORD="violet harbor bench 2048 pass"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  [ -d "$WORK/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
rps() { awk '/Requests\/sec/ {print $2}'; }
non2xx() { awk '/Non-2xx/ {n=$5} END {print n+0}'; }
# CPU seconds used so far by every PostgreSQL process (its backends persist: the pool keeps them).
pg_cpu() { cat /proc/[0-9]*/stat 2>/dev/null | awk '$2=="(postgres)" {s+=$14+$15} END {printf "%.2f", s/100}'; }

# A seeded store with authenticator-app sessions waiting for their code, moved into PostgreSQL.
$BIN seed --data-dir "$WORK/seed" --users "$USERS" --groups 500 --depth 4 \
  --totp-sessions "$USERS" --sessions-out "$WORK/sessions" >/dev/null
split -n l/3 -d -a 1 "$WORK/sessions" "$WORK/sessions."
mkdir -p "$WORK/pg"; chmod a+x "$WORK"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres -E UTF8 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=200" \
  -l "$WORK/pg/log" -w start >/dev/null
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc 'CREATE DATABASE proofup'
DBURL="postgres://postgres@127.0.0.1:$PGPORT/proofup"
$BIN migrate --from-data-dir "$WORK/seed" --to "$DBURL" >/dev/null

# node NAME CPU PORT: a node pinned to one CPU, all nodes with the seed's secret key file.
node() {
  mkdir -p "$WORK/$1"
  taskset -c "$2" $BIN serve --listen 127.0.0.1:$3 --public-url http://localhost:$3 --data-dir "$WORK/$1" \
    --secret-key-file "$WORK/seed/secret.key" --database-url "$DBURL" --db-pool-size 16 \
    --sign-in-per-ip-per-minute 100000 --log-format json >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  until curl -sf http://localhost:$3/readyz >/dev/null; do sleep 0.05; done
}
node a 0 $PA

TOKEN=$($BIN setup-url --listen 127.0.0.1:$PA --data-dir "$WORK/a" | sed 's/.*token=//')
H=(-H 'Content-Type: application/json' -H "Origin: $A")
curl -sf -o /dev/null "${H[@]}" -d "{\"token\":\"$TOKEN\",\"username\":\"bench.admin\",\"display_name\":\"Bench\",\"password\":\"$BENCH_PASSWORD\"}" $A/api/setup
cookie() { awk -F'[ ;]' 'tolower($1)=="set-cookie:" && $2 ~ /^proofup_session=/ {print $2}'; }
COOKIE=$(curl -si "${H[@]}" -d "{\"username\":\"bench.admin\",\"password\":\"$BENCH_PASSWORD\"}" $A/api/auth/sign-in | cookie)
for i in 1 2 3 4 5 6 7 8; do
  PASS=$(curl -s -H "Cookie: $COOKIE" "${H[@]}" -d "{\"username\":\"bench.user$i\",\"display_name\":\"Bench $i\"}" $A/api/users \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["temporary_access_pass"]["code"])')
  C=$(curl -si "${H[@]}" -d "{\"username\":\"bench.user$i\",\"password\":\"$PASS\"}" $A/api/auth/sign-in | cookie)
  curl -sf -o /dev/null -H "Cookie: $C" "${H[@]}" -d "{\"new_password\":\"$BENCH_PASSWORD\"}" $A/api/auth/password
done

BOUND1=$(taskset -c 0 $BIN hash-rate --threads 1 --seconds 5 | awk '{print $1}')
signins() { ORIGIN=$1 wrk -t1 -c8 -d${DUR}s -s bench/signin.lua $1/api/auth/sign-in 2>/dev/null; }
totp() { # base sessions-part
  python3 bench/codes.py "$WORK/sessions.$2" "$WORK/codes.$2"
  ORIGIN=$1 TOTP_FILE=$WORK/codes.$2 WRK_THREADS=2 wrk -t2 -c16 -d4s -s bench/totp.lua $1 2>/dev/null
}

echo "| Measure | Result | Against | Ratio |"
echo "|---|---|---|---|"
row "Argon2id verifications/s on one core (the bound of one node)" "$BOUND1" "" ""

# One node.
S1=$(signins $A | rps)
C0=$(pg_cpu); OUT=$(totp $A 0); C1=$(pg_cpu)
T1=$(echo "$OUT" | rps); R1=$(echo "$OUT" | non2xx)
N1=$(echo "$OUT" | awk '/requests in/ {print $1}')
row "One node: password sign-ins/s" "$S1" "bound $BOUND1/s" "$(echo "scale=2; $S1 / $BOUND1" | bc)"
row "One node: TOTP steps/s (refused $R1)" "$T1" "" ""
row "One node: PostgreSQL CPU per 1,000 TOTP steps" "$(echo "scale=2; ($C1 - $C0) * 1000 / $N1" | bc) s" "" ""

# Two nodes, the load split between them.
node b 1 $PB
signins $A >"$WORK/sa" & W=$!; signins $B >"$WORK/sb"; wait $W || true
S2=$(echo "$(rps <"$WORK/sa") + $(rps <"$WORK/sb")" | bc)
C0=$(pg_cpu)
totp $A 1 >"$WORK/ta" & W=$!; totp $B 2 >"$WORK/tb"; wait $W || true
C1=$(pg_cpu)
T2=$(echo "$(rps <"$WORK/ta") + $(rps <"$WORK/tb")" | bc)
R2=$(( $(non2xx <"$WORK/ta") + $(non2xx <"$WORK/tb") ))
N2=$(( $(awk '/requests in/ {print $1}' "$WORK/ta") + $(awk '/requests in/ {print $1}' "$WORK/tb") ))
row "Two nodes: password sign-ins/s (A + B)" "$S2" "one node $S1/s; bound 2 × $BOUND1/s" \
  "$(echo "scale=2; $S2 / $S1" | bc) × one node; $(echo "scale=2; $S2 / (2 * $BOUND1)" | bc) of the bound"
row "Two nodes: TOTP steps/s (A + B; refused $R2)" "$T2" "one node $T1/s" "$(echo "scale=2; $T2 / $T1" | bc)"
row "Two nodes: PostgreSQL CPU per 1,000 TOTP steps" "$(echo "scale=2; ($C1 - $C0) * 1000 / $N2" | bc) s" "" ""

#!/bin/sh
# run.sh — HTTP serving throughput and latency: wrk (Debian's) on loopback
# against `mlxc serve` of the credit example's MLP (6-32-32-1), one row per
# request (bench/serve/post.lua), keep-alive connections. Both share this
# machine's CPUs, so the figures are for server and load generator together.
# Run by `make bench` (or BUILD=build sh bench/serve/run.sh). Reported,
# never asserted. Issue 5's goal: >= 50k requests/s on 2 cores, p99 < 2 ms.
#   BENCH_SERVE_SECONDS   seconds per configuration (default 10)
set -eu
BUILD=${BUILD:-build}
MLXC=${MLXC:-$BUILD/mlxc}
SECS=${BENCH_SERVE_SECONDS:-10}
DIR=$BUILD/bench/serve
HERE=$(dirname "$0")
mkdir -p "$DIR"
command -v wrk > /dev/null || { echo "bench/serve: wrk is missing (make bench installs it)"; exit 1; }
make --no-print-directory -s BUILD="$BUILD" "$BUILD/mlxc" > /dev/null
"$MLXC" run examples/credit.mlx scorer_mlp --out "$DIR/out" > "$DIR/credit.log"

PID=""
trap '[ -z "$PID" ] || kill -TERM "$PID" 2>/dev/null' EXIT INT TERM
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
printf '%-34s %12s %9s %9s %9s\n' configuration requests/s p50 p90 p99
# serve THREADS, then wrk with W threads and C connections
for cfg in 1:1:16 2:1:32 2:2:64; do
  st=${cfg%%:*} rest=${cfg#*:} wt=${rest%%:*} conns=${rest#*:}
  rm -f "$DIR/port"
  "$MLXC" serve "$DIR/out/scorer_mlp.mlxm" --port 0 --port-file "$DIR/port" --threads "$st" \
    > "$DIR/serve.log" 2>&1 &
  PID=$!
  while [ ! -s "$DIR/port" ]; do sleep 0.05; done
  url="http://127.0.0.1:$(cat "$DIR/port")/predict"
  curl -s --noproxy '*' -H 'Content-Type: application/json' \
    -d "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$HERE/post.lua")" "$url" > "$DIR/check.json"
  grep -q '"class"' "$DIR/check.json" || { cat "$DIR/check.json"; exit 1; }
  wrk -t "$wt" -c "$conns" -d "${SECS}s" --latency -s "$HERE/post.lua" "$url" > "$DIR/wrk_$cfg.txt"
  kill -TERM "$PID"
  wait "$PID" || true
  PID=""
  awk -v name="serve --threads $st, wrk -t$wt -c$conns" '
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = $2 } $1 == "90%" { p90 = $2 } $1 == "99%" { p99 = $2 }
    /Non-2xx/ { bad = $NF } /Socket errors/ { err = $0 }
    END { printf "%-34s %12s %9s %9s %9s%s\n", name, rps, p50, p90, p99,
          (bad ? "  (" bad " non-2xx!)" : "") (err ? "  (" err ")" : "") }' "$DIR/wrk_$cfg.txt"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(wrk output in $DIR/wrk_*.txt)"

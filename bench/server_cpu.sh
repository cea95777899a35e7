#!/usr/bin/env bash
# CPU time `tern serve` spends per request, from its own accounting (/proc/PID/stat utime +
# stime before and after N requests), and the wall time per request seen by curl. On a shared,
# loaded machine the CPU figure moves far less than latency does; with two cores idle, a
# request that runs on one thread takes about its CPU time.
#
#   bench/server_cpu.sh TERN DB N PATH...
#   bench/server_cpu.sh target/release/tern /tmp/dash-bench/b.db 8 "/api/v1/insights?from=…&to=…"
#
# Starts `tern serve` on a free loopback port (retention off), waits 3 s for start-up work,
# sends each PATH once to warm it, then N times, and prints CPU ms and wall ms per request.
set -euo pipefail
TERN="$1"; DB="$2"; N="$3"; shift 3
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CFG=$(mktemp); printf '[retention]\nraw = "forever"\nrollups = "forever"\n' > "$CFG"
TERN_API_TOKEN=bench-token TERN_INGEST_KEY=bench-key "$TERN" serve --db "$DB" --config "$CFG" \
    --listen "127.0.0.1:$PORT" 2>/dev/null &
SERVER=$!
trap 'kill -TERM $SERVER; wait $SERVER 2>/dev/null || true; rm -f "$CFG"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
sleep 3
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
get() { curl -s -o /dev/null -H "Authorization: Bearer bench-token" "http://127.0.0.1:$PORT$1"; }
for path in "$@"; do
    get "$path"
    a=$(cpu_ticks); t0=$(date +%s%N)
    for _ in $(seq "$N"); do get "$path"; done
    b=$(cpu_ticks); t1=$(date +%s%N)
    printf '%-64s cpu/request %5d ms   wall/request %5d ms\n' "${path:0:64}" \
        $(( (b - a) * 1000 / TICK / N )) $(( (t1 - t0) / 1000000 / N ))
done

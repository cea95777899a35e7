#!/usr/bin/env bash
# Server time of the API requests behind each dashboard page, over a large database.
#
#   tern simulate --out /tmp/dash-bench/logs --functions 5000 --days 30 --invocations-per-day 4 --seed 9
#   tern ingest --quiet --db /tmp/dash-bench/b.db /tmp/dash-bench/logs
#   bench/dashboard.sh target/debug/tern /tmp/dash-bench/b.db [RUNS]
#
# Starts `tern serve` on a free loopback port over a copy-free read of the database (retention
# off), then times each request RUNS times (default 7) with curl's time_total on loopback, and
# prints the median and the worst, and the response size. A page's server time is its slowest
# request (the page issues them in parallel).
set -euo pipefail
TERN="$1"; DB="$2"; RUNS="${3:-7}"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
CFG=$(mktemp); printf '[retention]\nraw = "forever"\nrollups = "forever"\n' > "$CFG"
TOKEN=bench-token
TERN_API_TOKEN=$TOKEN TERN_INGEST_KEY=bench-key "$TERN" serve --db "$DB" --config "$CFG" --listen "127.0.0.1:$PORT" 2>/tmp/dash-bench-serve.log &
SERVER=$!
trap 'kill -TERM $SERVER; wait $SERVER || true; rm -f "$CFG"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
B="http://127.0.0.1:$PORT"
H=(-H "Authorization: Bearer $TOKEN")
# FN, LO and HI may be given (a binary older than /api/v1/inventory).
FN=${FN:-$(curl -s "${H[@]}" "$B/api/v1/inventory" | python3 -c 'import json,sys; print(json.load(sys.stdin)["functions"][0]["function"])')}
GROUP=$(curl -s "${H[@]}" "$B/api/v1/errors?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
INV=$(curl -s "${H[@]}" "$B/api/v1/invocations?function=$FN&limit=1" | python3 -c 'import json,sys,urllib.parse as u; r=json.load(sys.stdin)[0]; print(u.urlencode({"log_group":r["log_group"],"log_stream":r["log_stream"],"request_id":r["request_id"]}))')
LO=${LO:-$(curl -s "${H[@]}" "$B/api/v1/inventory" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_from_ms"])')}
HI=${HI:-$(curl -s "${H[@]}" "$B/api/v1/inventory" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_to_ms"]+1)')}
R="from=$LO&to=$HI"
time_it() {
    local page="$1" path="$2" t=() size
    for _ in $(seq "$RUNS"); do
        t+=($(curl -s -o /tmp/dash-bench-body -w '%{time_total}' "${H[@]}" "$B$path"))
    done
    size=$(stat -c %s /tmp/dash-bench-body)
    printf '%-14s %-62s median %6.0f ms  worst %6.0f ms  %8d bytes\n' "$page" "${path:0:62}" \
        "$(printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]*1000}')" \
        "$(printf '%s\n' "${t[@]}" | sort -n | tail -1 | awk '{print $1*1000}')" "$size"
}
time_it overview   "/api/v1/fleet?$R&limit=10&sort=cost_usd"
time_it overview   "/api/v1/incidents?state=open&limit=20"
time_it overview   "/api/v1/errors?$R&limit=200"
time_it functions  "/api/v1/fleet?$R&limit=100"
time_it functions  "/api/v1/fleet?$R&limit=100&sort=p99&name=api"
time_it overview   "/api/v1/insights?$R&limit=10"
time_it insights   "/api/v1/insights?$R"
time_it report     "/api/v1/functions?$R"
time_it function   "/api/v1/functions?$R&function=$FN"
time_it function   "/api/v1/functions/$FN/series?$R&bucket=6h"
time_it function   "/api/v1/errors?$R&function=$FN"
time_it function   "/api/v1/invocations?$R&function=$FN&limit=50"
time_it function   "/api/v1/functions/$FN/recommendation?$R"
time_it invocation "/api/v1/invocations/logs?$INV"
time_it errors     "/api/v1/errors?$R&limit=500&spark=true"
time_it error      "/api/v1/errors/$GROUP"
time_it alerts     "/api/v1/policies"
time_it alerts     "/api/v1/notifications?limit=200"
time_it assets     "/ui/app.js"

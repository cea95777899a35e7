#!/usr/bin/env bash
# Serve current ClickHouse (chdb-core from PyPI embeds ClickHouse 26.x, in process) over the
# HTTP subset Tern's client uses (.ci/chdb_server.py) on 127.0.0.1:18124, for the ClickHouse
# store tests. Installs chdb-core into /tmp/tern-chdb-venv when missing; data in
# /tmp/tern-chdb-data (emptied at each start). Leaves the server running, its PID in
# /tmp/tern-chdb.pid and its log in /tmp/tern-chdb.log. Reuses a server already answering.
set -euo pipefail
cd "$(dirname "$0")"

VENV=/tmp/tern-chdb-venv
PORT=18124
URL="http://127.0.0.1:${PORT}"

if ! [ -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import chdb' 2>/dev/null; then
    echo "== installing chdb-core into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'chdb-core==26.9.0'
fi

if ! curl -sf -o /dev/null "$URL/ping"; then
    echo "== starting chdb on $URL"
    rm -rf /tmp/tern-chdb-data
    setsid "$VENV/bin/python" chdb_server.py "$PORT" /tmp/tern-chdb-data >/tmp/tern-chdb.log 2>&1 </dev/null &
    echo $! >/tmp/tern-chdb.pid
    for _ in $(seq 150); do
        curl -sf -o /dev/null "$URL/ping" && break
        sleep 0.2
    done
    if ! curl -sf -o /dev/null "$URL/ping"; then
        echo "chdb did not answer on $URL within 30 s; its log:" >&2
        tail -n 40 /tmp/tern-chdb.log >&2 || true
        exit 1
    fi
fi
echo "== chdb $(curl -sf --data-binary 'SELECT version()' "$URL/") ready on $URL"

#!/usr/bin/env bash
# Start the moto server (AWS emulator for CloudWatch Logs, Lambda and IAM) on 127.0.0.1:5000 for
# the pull tests (crates/tern/tests/pull.rs). Installs moto into /tmp/ci-venv when missing.
# Leaves the server running in the background, its PID in /tmp/moto.pid and its log in
# /tmp/moto.log; stop it with `kill "$(cat /tmp/moto.pid)"`. If a moto already answers on the
# port, it is reused (and its PID file, if any, left as is).
set -euo pipefail

VENV="${MOTO_VENV:-/tmp/ci-venv}"
PORT="${MOTO_PORT:-5000}"
URL="http://127.0.0.1:${PORT}"

if ! [ -x "$VENV/bin/moto_server" ]; then
    echo "== installing moto into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'moto[server]==5.2.5' boto3
fi

if ! curl -sf -o /dev/null "$URL/moto-api/"; then
    echo "== starting moto on $URL"
    # setsid: the server outlives this script and is not killed with its process group.
    setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >/tmp/moto.log 2>&1 < /dev/null &
    echo $! >/tmp/moto.pid
    for _ in $(seq 150); do
        curl -sf -o /dev/null "$URL/moto-api/" && break
        sleep 0.2
    done
    if ! curl -sf -o /dev/null "$URL/moto-api/"; then
        echo "moto did not answer on $URL within 30 s; its log:" >&2
        tail -n 40 /tmp/moto.log >&2 || true
        exit 1
    fi
fi

# Lambda without docker: create_function works from a zip and invoke writes no logs. Must be
# set before functions are created (reference/test-services.md).
curl -sf -X POST -H 'Content-Type: application/json' -d '{"lambda":{"use_docker":false}}' \
    "$URL/moto-api/config" >/dev/null
echo "== moto ready on $URL"

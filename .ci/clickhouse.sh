#!/usr/bin/env bash
# Start a ClickHouse server (Debian's clickhouse-server, 18.16 on bookworm: the oldest version
# Tern supports) on 127.0.0.1, HTTP port 18123, for the ClickHouse store tests
# (crates/tern-store/tests/clickhouse.rs). Installs the package when missing; runs as root
# with the config in .ci/clickhouse-config.xml and every path under /tmp/tern-ch. Leaves the
# server running, its PID in /tmp/tern-ch.pid and its log in /tmp/tern-ch/log/. If a server
# already answers on the port, it is reused.
set -euo pipefail
cd "$(dirname "$0")"

PORT=18123
URL="http://127.0.0.1:${PORT}"

if ! [ -x /usr/bin/clickhouse-server ] && ! [ -x /usr/sbin/clickhouse-server ]; then
    echo "== installing clickhouse-server"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q clickhouse-server clickhouse-client >/dev/null
fi
BIN=/usr/bin/clickhouse-server
[ -x "$BIN" ] || BIN=/usr/sbin/clickhouse-server

if ! curl -sf -o /dev/null "$URL/ping"; then
    echo "== starting clickhouse-server on $URL"
    mkdir -p /tmp/tern-ch/log /tmp/tern-ch/data/tmp /tmp/tern-ch/data/user_files
    cp clickhouse-config.xml /tmp/tern-ch/config.xml
    cp /etc/clickhouse-server/users.xml /tmp/tern-ch/users.xml
    setsid "$BIN" --config-file=/tmp/tern-ch/config.xml >/tmp/tern-ch/log/stdout.log 2>&1 </dev/null &
    echo $! >/tmp/tern-ch.pid
    for _ in $(seq 150); do
        curl -sf -o /dev/null "$URL/ping" && break
        sleep 0.2
    done
    if ! curl -sf -o /dev/null "$URL/ping"; then
        echo "clickhouse-server did not answer on $URL within 30 s; its log:" >&2
        tail -n 40 /tmp/tern-ch/log/server.err.log >&2 || true
        exit 1
    fi
fi
echo "== clickhouse $(curl -sf "$URL/?query=SELECT%20version()") ready on $URL"

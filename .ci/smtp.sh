#!/usr/bin/env bash
# The SMTP sink for the email channel tests: Debian's aiosmtpd on 127.0.0.1:2525, writing each
# message into a Maildir (default /tmp/tern-maildir; the tests read TERN_TEST_MAILDIR).
# Starts it in the background, writes its PID to $SMTP_PID_FILE if set, and returns once the
# port accepts connections. Does nothing but report if something already listens there.
set -euo pipefail

HOST=127.0.0.1
PORT="${SMTP_PORT:-2525}"
MAILDIR="${TERN_TEST_MAILDIR:-/tmp/tern-maildir}"
LOG="${SMTP_LOG:-/tmp/tern-smtp.log}"
# Debian's python, not pyenv's: only it sees the apt package.
PY=/usr/bin/python3

port_open() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

if port_open; then
    echo "smtp sink: something already listens on $HOST:$PORT; using it"
    exit 0
fi

if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
    echo "smtp sink: installing python3-aiosmtpd"
    # A fresh machine may have no package lists yet.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-aiosmtpd >/dev/null; }
fi

# aiosmtpd's Mailbox handler does not create the Maildir layout itself.
mkdir -p "$MAILDIR/tmp" "$MAILDIR/new" "$MAILDIR/cur"
"$PY" -m aiosmtpd -n -l "$HOST:$PORT" -c aiosmtpd.handlers.Mailbox "$MAILDIR" >"$LOG" 2>&1 &
PID=$!
if [ -n "${SMTP_PID_FILE:-}" ]; then
    echo "$PID" >"$SMTP_PID_FILE"
fi

for _ in $(seq 100); do
    if port_open; then
        echo "smtp sink: pid $PID on $HOST:$PORT, Maildir $MAILDIR"
        exit 0
    fi
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "smtp sink: aiosmtpd exited; log:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.1
done
echo "smtp sink: port $PORT not open after 10 s; log:" >&2
cat "$LOG" >&2
kill "$PID" 2>/dev/null || true
exit 1

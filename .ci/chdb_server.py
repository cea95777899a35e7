#!/usr/bin/env python3
"""The subset of ClickHouse's HTTP interface Tern's client uses, served on 127.0.0.1 over an
embedded chdb session (current ClickHouse, in process), so the ClickHouse store tests run the
same Rust client and SQL against ClickHouse 26.x as against a real 18.16 server.

What it serves: GET /ping; POST / with the statement in the body, or in the `query` parameter
with the body as its data (INSERT ... FORMAT JSONEachRow); the `database` parameter; any other
parameter is a setting, applied with SET before the statement. Answers: 200 with the
statement's output, or 500 with the exception text, as ClickHouse does. One statement at a
time (a chdb session is not thread-safe).

Usage: chdb_server.py PORT DATA_DIR
"""
import http.server
import sys
import threading
import urllib.parse

import chdb.session

LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/ping":
            self.answer(200, "Ok.\n")
        else:
            self.run(b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.run(self.rfile.read(length))

    def run(self, body):
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        query = params.pop("query", None)
        database = params.pop("database", None)
        if query is None:
            sql = body.decode()
        else:
            sql = query + ("\n" + body.decode() if body else "")
        with LOCK:
            try:
                for key, value in params.items():
                    if not key.replace("_", "").isalnum():
                        raise ValueError(f"bad setting name {key!r}")
                    SESSION.query(f"SET {key} = '{value}'")
                SESSION.query("USE " + (f"`{database}`" if database else "default"))
                res = SESSION.query(sql, "TabSeparated")
                out = res.bytes() if hasattr(res, "bytes") else bytes(res)
            except Exception as e:  # the exception text, as ClickHouse answers it
                self.answer(500, f"Code: 1. DB::Exception: {e}\n")
                return
        self.answer(200, out or b"")


if __name__ == "__main__":
    port, path = int(sys.argv[1]), sys.argv[2]
    SESSION = chdb.session.Session(path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"chdb {chdb.__version__} serving on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()

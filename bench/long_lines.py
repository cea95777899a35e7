#!/usr/bin/env python3
"""Write JSON lines of Lambda invocations whose application lines are long, to stdout.

Used to show that `tern ingest`'s peak memory does not depend on line length:

    python3 bench/long_lines.py --invocations 2000 --message-bytes 262144 | tern ingest --db x.db -

Each invocation is START, one application line of --message-bytes bytes, END and REPORT, in
one of --streams log streams of one function. Deterministic: the same arguments give the same
bytes.
"""

import argparse
import json
import sys

GROUP = "/aws/lambda/long-lines"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invocations", type=int, default=2000)
    ap.add_argument("--message-bytes", type=int, default=256 * 1024)
    ap.add_argument("--streams", type=int, default=50)
    args = ap.parse_args()
    out = sys.stdout
    base = 1_764_000_000_000
    body = ("0123456789abcdef" * (args.message_bytes // 16 + 1))[: args.message_bytes]
    for i in range(args.invocations):
        stream = f"2026/11/27/[$LATEST]{i % args.streams:032x}"
        rid = f"{i:08x}-0000-4000-8000-000000000000"
        t = base + i * 1000
        lines = [
            (t, f"START RequestId: {rid} Version: $LATEST\n"),
            (t + 1, f"2026-11-27T00:00:00.000Z\t{rid}\tINFO\t{body}\n"),
            (t + 20, f"END RequestId: {rid}\n"),
            (
                t + 20,
                f"REPORT RequestId: {rid}\tDuration: 19.50 ms\tBilled Duration: 20 ms\t"
                "Memory Size: 512 MB\tMax Memory Used: 80 MB\t\n",
            ),
        ]
        for k, (ts, msg) in enumerate(lines):
            event = {
                "logGroup": GROUP,
                "logStream": stream,
                "timestamp": ts,
                "message": msg,
                "id": f"{i * 4 + k:056d}",
            }
            out.write(json.dumps(event))
            out.write("\n")


if __name__ == "__main__":
    main()

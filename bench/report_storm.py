#!/usr/bin/env python3
"""Write JSON lines that are the worst case for `tern ingest`'s memory, to stdout.

Every event is a REPORT line of its own invocation, and the log streams are taken in turn,
so each batch opens an invocation per event, touches as many streams as it has events, and
the stream state and the environment-id cache stay full:

    python3 bench/report_storm.py --events 2000000 --streams 300000 > /tmp/adv.jsonl

Deterministic: the same arguments give the same bytes.
"""

import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--streams", type=int, default=300_000)
    args = ap.parse_args()
    write = sys.stdout.write
    for i in range(args.events):
        s = i % args.streams
        rid = f"{i:08x}-0000-4000-8000-{s:012x}"
        msg = (
            f"REPORT RequestId: {rid}\tDuration: 19.50 ms\tBilled Duration: 20 ms\t"
            "Memory Size: 512 MB\tMax Memory Used: 80 MB\t\n"
        )
        event = {
            "logGroup": f"/aws/lambda/adv-{s % 500}",
            "logStream": f"2026/11/27/[$LATEST]{s:032x}",
            "timestamp": 1_764_000_000_000 + i,
            "message": msg,
            "id": f"{i:056d}",
        }
        write(json.dumps(event) + "\n")


if __name__ == "__main__":
    main()

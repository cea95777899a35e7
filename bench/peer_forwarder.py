#!/usr/bin/env python3
"""The peer approach Tern is measured against (BENCHMARKS.md).

This mimics the Datadog Lambda forwarder's enhanced-metrics path: decode each event's JSON,
run a regex over REPORT lines, and sum per function in Python. It stores nothing. Written for
this benchmark from the published description of that approach; it is not the forwarder's code.

usage: peer_forwarder.py FILE_OR_DIR...   (JSON lines of CloudWatch events)
"""
import json
import os
import re
import sys
from collections import defaultdict

REPORT = re.compile(
    r"REPORT\s+RequestId:\s+(?P<rid>[\w-]+)\s+Duration:\s+(?P<duration>[\d.]+)\s+ms\s+"
    r"Billed\s+Duration:\s+(?P<billed>[\d.]+)\s+ms\s+Memory\s+Size:\s+(?P<mem>\d+)\s+MB\s+"
    r"Max\s+Memory\s+Used:\s+(?P<used>\d+)\s+MB(?:\s+Init\s+Duration:\s+(?P<init>[\d.]+)\s+ms)?"
)
PRICE_GB_S = 0.0000166667
PRICE_REQ = 0.0000002


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    if n.endswith(".jsonl"):
                        yield os.path.join(root, n)
        else:
            yield p


def main():
    stats = defaultdict(lambda: [0, 0.0, 0.0, 0, 0])
    events = 0
    for path in files(sys.argv[1:]):
        with open(path, "rb") as fh:
            for line in fh:
                ev = json.loads(line)
                events += 1
                msg = ev["message"]
                if not msg.startswith("REPORT"):
                    continue
                m = REPORT.search(msg)
                if not m:
                    continue
                fn = ev["logGroupName"].rsplit("/", 1)[-1]
                s = stats[fn]
                s[0] += 1
                s[1] += float(m.group("duration"))
                billed = float(m.group("billed"))
                s[2] += billed / 1000.0 * int(m.group("mem")) / 1024.0 * PRICE_GB_S + PRICE_REQ
                if m.group("init"):
                    s[3] += 1
    print(f"events {events} functions {len(stats)} invocations {sum(s[0] for s in stats.values())}")


if __name__ == "__main__":
    main()

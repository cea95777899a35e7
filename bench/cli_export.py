#!/usr/bin/env python3
"""Turn `tern simulate` output (JSON lines) into one `aws logs filter-log-events` document.

The AWS CLI pages through a whole log group into one JSON document, so exports are large;
this makes one to show that `tern ingest` streams them:

    python3 bench/cli_export.py /tmp/corpus /tmp/corpus2 > /tmp/export.json
    tern ingest --log-group /aws/lambda/exported /tmp/export.json
"""

import glob
import json
import sys


def main():
    out = sys.stdout
    out.write('{\n    "events": [\n')
    first = True
    for d in sys.argv[1:]:
        for f in sorted(glob.glob(d + "/*/*.jsonl")):
            for line in open(f):
                e = json.loads(line)
                ev = {
                    "logStreamName": e["logStreamName"],
                    "timestamp": e["timestamp"],
                    "message": e["message"],
                    "ingestionTime": e["timestamp"] + 250,
                    "eventId": e.get("eventId") or e.get("id"),
                }
                text = "\n".join("        " + l for l in json.dumps(ev, indent=4).split("\n"))
                out.write(text if first else ",\n" + text)
                first = False
    out.write('\n    ],\n    "searchedLogStreams": []\n}\n')


if __name__ == "__main__":
    main()

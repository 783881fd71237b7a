#!/usr/bin/env python3
"""Compare two results.jsonl files record by record, ignoring the fields that
change from run to run (wall_s, peak_mem, git_sha).

Usage: scripts/stripdiff.py A/results.jsonl B/results.jsonl
Prints the record counts and "identical" or "DIFFER" with the first six
differing record pairs. Exit status 1 when they differ."""
import json
import sys

VOLATILE = ("wall_s", "peak_mem", "git_sha")


def load(path):
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            for k in VOLATILE:
                r.pop(k, None)
            out.append(json.dumps(r, sort_keys=True))
    return out


a, b = load(sys.argv[1]), load(sys.argv[2])
same = a == b
print(len(a), len(b), "identical" if same else "DIFFER")
shown = 0
for x, y in zip(a, b):
    if x != y and shown < 6:
        print("-", x[:300])
        print("+", y[:300])
        shown += 1
sys.exit(0 if same else 1)

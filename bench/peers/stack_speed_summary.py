#!/usr/bin/python3
"""Summarise bench/peers/stack_speed.sh output (stdin): median over rounds
of the per-round mean step time (wall and CPU), both implementations."""
import json
import re
import statistics
import sys

go_wall, go_cpu, tw_wall, tw_cpu = [], [], [], []
for line in sys.stdin:
    if line.startswith("go round="):
        m = re.search(r"\s([\d.]+) ns/op\s+([\d.]+) cpu-ms/op", line)
        go_wall.append(float(m.group(1)) / 1e6)
        go_cpu.append(float(m.group(2)))
    elif line.startswith("torch round="):
        d = json.loads(line.split(" ", 2)[2])
        tw_wall.append(statistics.mean(d["ms"]))
        tw_cpu.append(statistics.mean(d["cpu_ms"]))
med = statistics.median
print("rounds: go %d, torch %d" % (len(go_wall), len(tw_wall)))
print("go    wall ms/step: median %.1f  (rounds %s)" % (med(go_wall), ", ".join("%.0f" % x for x in go_wall)))
print("torch wall ms/step: median %.1f  (rounds %s)" % (med(tw_wall), ", ".join("%.0f" % x for x in tw_wall)))
print("go    cpu  ms/step: median %.1f" % med(go_cpu))
print("torch cpu  ms/step: median %.1f" % med(tw_cpu))
print("ratio go/torch: wall %.2fx, cpu %.2fx (medians); best rounds: go %.1f ms, torch %.1f ms, %.2fx" % (
    med(go_wall) / med(tw_wall), med(go_cpu) / med(tw_cpu), min(go_wall), min(tw_wall), min(go_wall) / min(tw_wall)))

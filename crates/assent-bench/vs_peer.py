#!/usr/bin/env python3
"""Prints the side-by-side table of docs/bench/vs-<scenario>-{assent,peer}-<round>.json (from
`SCENARIOS=vs-peer run-all.sh`): the median of the rounds for each server, and Assent / peer."""

import glob
import json
import os
import re
import statistics

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "bench")


def load():
    runs = {}
    for path in sorted(glob.glob(os.path.join(OUT, "vs-*.json"))):
        m = re.match(r"vs-(.+)-(assent|peer)-(\d+)\.json$", os.path.basename(path))
        if m:
            runs.setdefault(m.group(1), {}).setdefault(m.group(2), []).append(json.load(open(path)))
    return runs


def med(rs, f):
    vals = [v for v in (f(r) for r in rs) if v is not None]
    return statistics.median(vals) if vals else None


def per_cpu_s(r):
    s = r.get("server") or {}
    cpu = s.get("cpu_seconds")
    return r["deliveries"] / cpu if cpu else None


# (label, getter, unit, digits); for each, whether higher is better decides nothing here:
# the ratio is always Assent / peer.
INGEST = [
    ("msg/s", lambda r: r["messages_per_s"], "", 0),
    ("POST → event p50", lambda r: r["post_to_event"]["p50_ms"], " ms", 2),
    ("p99", lambda r: r["post_to_event"]["p99_ms"], " ms", 1),
    ("deliveries per server CPU-s", per_cpu_s, "", 0),
    ("errors", lambda r: r["errors"], "", 0),
]
IDLE = [
    ("RSS per connection", lambda r: r["server_kib_per_connection"], " KiB", 1),
    ("failed", lambda r: r["failed"], "", 0),
]


def main():
    print("| scenario | figure | Assent | peer | Assent / peer |")
    print("|---|---|---|---|---|")
    for name, by in load().items():
        a, p = by.get("assent", []), by.get("peer", [])
        rows = IDLE if (a or p)[0]["scenario"] == "idle" else INGEST
        for label, f, unit, d in rows:
            va, vp = med(a, f), med(p, f)
            ratio = f"{va / vp:.2f}×" if va is not None and vp else "–"
            show = lambda v: "–" if v is None else f"{v:,.{d}f}{unit}"
            print(f"| {name} ({len(a)}+{len(p)} rounds) | {label} | {show(va)} | {show(vp)} | {ratio} |")


if __name__ == "__main__":
    main()

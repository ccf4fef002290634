#!/usr/bin/env python3
"""Summarises docs/bench/*.json (from run-all.sh) as the median of the runs of each scenario,
printed as a Markdown table, and draws docs/bench/latency-vs-load.png from the sweep files
(sweep-<rate>.json) when present. Needs matplotlib only for the plot."""

import glob
import json
import os
import re
import statistics
import sys

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "bench")


def load():
    runs = {}
    for path in sorted(glob.glob(os.path.join(OUT, "*.json"))):
        m = re.match(r"(.+)-(\d+)\.json$", os.path.basename(path))
        if not m or m.group(1) == "sweep":
            continue
        runs.setdefault(m.group(1), []).append(json.load(open(path)))
    return runs


def med(rs, f):
    vals = [f(r) for r in rs]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, d=1):
    return "–" if v is None else f"{v:,.{d}f}"


def main():
    runs = load()
    print("| scenario | runs | throughput | p50 | p99 | max | errors | server CPU-s / 1k deliveries | server RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, rs in runs.items():
        sc = rs[0]["scenario"]
        if sc == "ingest":
            thr = f"{fmt(med(rs, lambda r: r['messages_per_s']), 0)} msg/s, {fmt(med(rs, lambda r: r['deliveries_per_s']), 0)} deliveries/s"
            lat = lambda k: med(rs, lambda r: r["post_to_event"][k])
            err = med(rs, lambda r: r["errors"])
            cpu = med(rs, lambda r: (r.get("server") or {}).get("cpu_seconds_per_1000_deliveries"))
            rss = med(rs, lambda r: (r.get("server") or {}).get("rss_mib"))
            print(f"| {name} | {len(rs)} | {thr} | {fmt(lat('p50_ms'),2)} ms | {fmt(lat('p99_ms'),2)} ms | {fmt(lat('max_ms'),1)} ms | {fmt(err,0)} | {fmt(cpu,3)} | {fmt(rss,0)} MiB |")
        elif sc == "wait":
            lat = lambda k: med(rs, lambda r: r["answer_commit_to_response"][k])
            done = med(rs, lambda r: r["completed"])
            print(f"| {name} | {len(rs)} | {fmt(done,0)} / {rs[0]['waiters']} waits answered | {fmt(lat('p50_ms'),2)} ms | {fmt(lat('p99_ms'),2)} ms | {fmt(lat('max_ms'),1)} ms | – | – | {fmt(med(rs, lambda r: (r.get('server') or {}).get('rss_mib')),0)} MiB |")
        elif sc == "idle":
            per = med(rs, lambda r: r["server_kib_per_connection"])
            n = med(rs, lambda r: r["connections"])
            print(f"| {name} | {len(rs)} | {fmt(n,0)} connections, {fmt(per,1)} KiB each | – | – | – | {fmt(med(rs, lambda r: r['failed']),0)} failed | – | {fmt(med(rs, lambda r: (r['server_rss_after_kib'] or 0)/1024),0)} MiB |")
        elif sc == "resume":
            lat = lambda k: med(rs, lambda r: r["replay"][k])
            print(f"| {name} | {len(rs)} | {fmt(med(rs, lambda r: r['delivered_pct']),2)} % delivered, {fmt(med(rs, lambda r: r['duplicates']),0)} duplicates, {fmt(med(rs, lambda r: r['out_of_order']),0)} out of order, {fmt(med(rs, lambda r: r['reconnects']),0)} reconnects | {fmt(lat('p50_ms'),1)} ms | {fmt(lat('p99_ms'),1)} ms | {fmt(lat('max_ms'),1)} ms | – | – | – |")
        elif sc == "webhooks":
            print(f"| {name} | {len(rs)} | {fmt(med(rs, lambda r: r['events']),0)} events, {fmt(med(rs, lambda r: r['delivered_pct']),2)} % delivered, {fmt(med(rs, lambda r: r['duplicates']),0)} duplicate 2xx, {fmt(med(rs, lambda r: r['requests']),0)} requests, ≤ {fmt(med(rs, lambda r: r['attempts_per_event_max']),0)} attempts/event, {fmt(med(rs, lambda r: r['deliveries_per_sec']),0)} deliveries/s | – | – | {fmt(med(rs, lambda r: r['all_delivered_secs']),1)} s to all delivered | {fmt(med(rs, lambda r: r['failed_deliveries_on_server']),0)} failed | {fmt(med(rs, lambda r: (r.get('server') or {}).get('cpu_seconds_per_1000_deliveries')),3)} | {fmt(med(rs, lambda r: (r.get('server') or {}).get('rss_mib')),0)} MiB |")
    sweep = sorted(glob.glob(os.path.join(OUT, "sweep-*.json")), key=lambda p: int(re.search(r"sweep-(\d+)", p).group(1)))
    if sweep:
        rows = [json.load(open(p)) for p in sweep]
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("(matplotlib missing: no plot)", file=sys.stderr)
            return
        x = [r["messages_per_s"] for r in rows]
        fig, ax = plt.subplots(figsize=(7, 4))
        for k, label in [("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"), ("max_ms", "max")]:
            ax.plot(x, [r["post_to_event"][k] for r in rows], marker="o", label=label)
        ax.set_xlabel("durable messages/s (SQLite, synchronous=FULL), 1 subscriber each")
        ax.set_ylabel("POST → message:created (ms)")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        ax.set_title("Assent latency vs load (2 vCPU, server + load generator on one box)")
        fig.tight_layout()
        fig.savefig(os.path.join(OUT, "latency-vs-load.png"), dpi=110)
        print("\n| sweep rate | achieved msg/s | p50 | p99 | max |\n|---|---|---|---|---|")
        for r in rows:
            l = r["post_to_event"]
            print(f"| {r['params']['rate']} | {fmt(r['messages_per_s'],0)} | {fmt(l['p50_ms'],2)} ms | {fmt(l['p99_ms'],2)} ms | {fmt(l['max_ms'],1)} ms |")


if __name__ == "__main__":
    main()

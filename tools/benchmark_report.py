"""Turns tools/benchmark_suite.sh's CSV files into report.md and
throughput.svg: tables with ratios against the peers measured in the same
run, the issue's targets each marked met or not met with its figures, and a
plot of throughput against threads."""

import csv
import os
import sys
from collections import defaultdict

PEERS = ["jemalloc", "tcmalloc", "mimalloc"]
OURS = "rusty_per_thread"
ORDER = ["glibc", "rusty_locked", OURS] + PEERS
COLORS = {"glibc": "#555555", "rusty_locked": "#d62728", OURS: "#1f77b4",
          "jemalloc": "#2ca02c", "tcmalloc": "#ff7f0e", "mimalloc": "#9467bd"}


def load(out):
    rate = defaultdict(dict)  # (workload, threads) -> allocator -> ops/s
    rss = defaultdict(dict)
    with open(os.path.join(out, "results.csv")) as f:
        for row in csv.DictReader(f):
            key = (row["workload"], int(row["threads"]))
            rate[key][row["allocator"]] = float(row["ops_per_s"])
            rss[key][row["allocator"]] = int(row["peak_rss_kib"])
    instructions = {}
    path = os.path.join(out, "callgrind.csv")
    if os.path.exists(path):
        with open(path) as f:
            for row in csv.DictReader(f):
                try:
                    instructions[row["allocator"]] = float(row["instructions_per_pair"])
                except ValueError:
                    pass
    return rate, rss, instructions


def fmt(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    return f"{x / 1e3:.0f}k" if x >= 1e3 else f"{x:.2f}"


def tables(rate, rss, allocators):
    lines = []
    for workload in sorted({w for w, _ in rate}):
        keys = sorted(k for k in rate if k[0] == workload)
        lines.append(f"### {workload}: operations per second (x = per-thread allocator / fastest peer)\n")
        lines.append("| allocator | " + " | ".join(f"{t} threads" for _, t in keys) + " |")
        lines.append("|---|" + "---|" * len(keys))
        for a in allocators:
            lines.append(f"| {a} | " + " | ".join(fmt(rate[k].get(a, 0)) for k in keys) + " |")
        ratio = []
        for k in keys:
            peers = [rate[k][p] for p in PEERS if p in rate[k]]
            ratio.append(f"{rate[k][OURS] / max(peers):.2f}x" if peers and OURS in rate[k] else "-")
        lines.append("| **per-thread / fastest peer** | " + " | ".join(ratio) + " |\n")
        lines.append(f"Peak RSS (MiB) for {workload}:\n")
        lines.append("| allocator | " + " | ".join(f"{t} threads" for _, t in keys) + " |")
        lines.append("|---|" + "---|" * len(keys))
        for a in allocators:
            lines.append(f"| {a} | " + " | ".join(f"{rss[k].get(a, 0) / 1024:.1f}" for k in keys) + " |")
        lines.append("")
    return lines


def targets(rate, rss, instructions):
    lines = ["### Targets\n", "| target | figures | verdict |", "|---|---|---|"]

    def row(name, figures, met):
        lines.append(f"| {name} | {figures} | {'met' if met else '**not met**'} |")

    key = ("vectors", 16)
    if key in rate and OURS in rate[key] and "rusty_locked" in rate[key]:
        r = rate[key][OURS] / rate[key]["rusty_locked"]
        row("per-thread >= 10x locked at 16 threads (author's experiment)", f"{r:.1f}x", r >= 10)
    worst = min(((rate[k][OURS] / rate[k]["glibc"], k) for k in rate
                 if OURS in rate[k] and "glibc" in rate[k]), default=None)
    if worst:
        r, (w, t) = worst
        row("per-thread >= glibc on every workload and thread count",
            f"worst {r:.2f}x ({w}, {t} threads)", r >= 1.0)
    peer_ratios = [(rate[k][OURS] / max(rate[k][p] for p in PEERS if p in rate[k]), k)
                   for k in rate if OURS in rate[k] and any(p in rate[k] for p in PEERS)]
    if peer_ratios:
        r, (w, t) = min(peer_ratios)
        row("per-thread within 1.25x of the fastest peer everywhere",
            f"worst {r:.2f}x of the fastest ({w}, {t} threads)", r >= 1 / 1.25)
    rss_ratios = [(rss[k][OURS] / min(rss[k][p] for p in PEERS if p in rss[k]), k)
                  for k in rss if OURS in rss[k] and any(p in rss[k] for p in PEERS)]
    if rss_ratios:
        r, (w, t) = max(rss_ratios)
        row("per-thread peak RSS within 1.25x of the smallest peer's",
            f"worst {r:.2f}x ({w}, {t} threads)", r <= 1.25)
    if OURS in instructions and "mimalloc" in instructions:
        r = instructions[OURS] / instructions["mimalloc"]
        row("fast path <= 1.25x mimalloc's instructions per malloc/free pair",
            f"{instructions[OURS]:.1f} vs {instructions['mimalloc']:.1f} ({r:.2f}x)", r <= 1.25)
    lines.append("")
    if instructions:
        lines.append("Instructions per malloc(32)/free pair (callgrind): " + ", ".join(
            f"{a} {instructions[a]:.1f}" for a in ORDER if a in instructions) + "\n")
    return lines


def svg(rate, allocators, path):
    workloads = [w for w in ("vectors", "mixed", "producer_consumer")
                 if any(k[0] == w for k in rate)]
    width, height, pad = 360, 260, 48
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * len(workloads)}" '
             f'height="{height + 60}" font-family="sans-serif" font-size="11">',
             f'<rect width="100%" height="100%" fill="white"/>']
    for i, w in enumerate(workloads):
        x0 = i * width
        keys = sorted(k for k in rate if k[0] == w)
        threads = [t for _, t in keys]
        top = max(max(rate[k].values()) for k in keys) * 1.1
        def px(t):
            j = threads.index(t)
            return x0 + pad + j * (width - 2 * pad) / max(1, len(threads) - 1)
        def py(v):
            return height - pad + 10 - v / top * (height - 2 * pad)
        parts.append(f'<text x="{x0 + width / 2}" y="16" text-anchor="middle" font-weight="bold">{w}: ops/s vs threads</text>')
        parts.append(f'<line x1="{x0 + pad}" y1="{py(0)}" x2="{x0 + width - pad}" y2="{py(0)}" stroke="black"/>')
        parts.append(f'<line x1="{x0 + pad}" y1="{py(0)}" x2="{x0 + pad}" y2="{py(top)}" stroke="black"/>')
        for t in threads:
            parts.append(f'<text x="{px(t)}" y="{py(0) + 14}" text-anchor="middle">{t}</text>')
        for frac in (0.5, 1.0):
            parts.append(f'<text x="{x0 + pad - 4}" y="{py(top * frac / 1.1)}" text-anchor="end">{fmt(top * frac / 1.1)}</text>')
        for a in allocators:
            pts = [(px(t), py(rate[(w, t)][a])) for t in threads if a in rate[(w, t)]]
            if pts:
                d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                parts.append(f'<polyline points="{d}" fill="none" stroke="{COLORS.get(a, "black")}" stroke-width="2"/>')
    for j, a in enumerate(allocators):
        parts.append(f'<rect x="{10 + j * 150}" y="{height + 30}" width="12" height="12" fill="{COLORS.get(a, "black")}"/>')
        parts.append(f'<text x="{26 + j * 150}" y="{height + 40}">{a}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main():
    out = sys.argv[1]
    rate, rss, instructions = load(out)
    allocators = [a for a in ORDER if any(a in v for v in rate.values())]
    lines = targets(rate, rss, instructions) + tables(rate, rss, allocators)
    svg(rate, allocators, os.path.join(out, "throughput.svg"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

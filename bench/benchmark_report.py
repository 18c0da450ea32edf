"""Turns bench/run_suite.sh's CSV files into report.md and
throughput.svg: tables with ratios against the peers measured in the same
run, the project's targets each marked met or not met with its figures,
instructions per malloc/free pair (callgrind), resident memory after a
workload freed everything against before it started, runs that failed or
crashed (failures.csv), and a plot of throughput against threads and of the
single-thread malloc/free loops."""

import csv
import math
import os
import re
import statistics
import sys
from collections import defaultdict

PEERS = ["jemalloc", "tcmalloc", "mimalloc"]
OURS = "rusty_per_thread"
# The per-thread drop-in with the sampler on at its default rate, every
# sample guarded and profiled.
SAMPLED = "rusty_sampled"
# rusty_per_thread again, in the same alternation: how far two sets of
# runs of one build differ here.
CONTROL = "rusty_control"
ORDER = ["glibc", "rusty_locked", OURS, SAMPLED] + PEERS
# The sampling targets: throughput within 2% of sampling off, and under
# 1 MiB more peak resident memory, on every workload and thread count.
SAMPLED_TIME = 0.98
SAMPLED_RSS_KIB = 1024
# The same 2%, as the sampler measures its own cost: the CPU time its
# samples took (allocation and free) against the process's.
SAMPLED_CPU_SHARE = 0.02
# The target: after a workload frees everything, resident memory is
# back within 10% of before it started, within the purge delay.
RESIDENT_TARGET = 1.10
# The speed targets': within 1.1x of the fastest peer on every workload.
PEER_TARGET = 1.10
# The peer targets': within 1.05x of the fastest peer on every workload and thread
# count; in the geometric mean, at most 0.85x each peer's time; peak RSS
# within 1.1x of the leanest peer's everywhere; the fast path at most 78
# instructions per malloc/free pair.
PEER_TARGETS_PEER = 1.05
PEER_TARGETS_TIME = 0.85
PEER_TARGETS_RSS = 1.10
PEER_TARGETS_FAST_PATH = 78
# The peer targets count glibc as a peer too.
PEER_TARGETS_PEERS = ["glibc"] + PEERS
BATCHES = ["batch16", "batch256", "batch1024"]
# The workloads callgrind counts, in the suite's order.
PAIR_WORKLOADS = ["fastpath"] + BATCHES
# What one operation is, where it is not alloc_bench's own (see
# bench/run_suite.sh's run_workload).
UNITS = {
    "python": ("runs per second", "Debian's python3 on tests/workloads/alloc_heavy.py."),
    "glibc_simple": ("malloc/free pairs per second",
                     "glibc's benchtests/bench-malloc-simple, one block size: "
                     "the mean over its 12 cases."),
    "glibc_thread": ("iterations per second",
                     "glibc's benchtests/bench-malloc-thread: an iteration is a "
                     "free and a malloc of 4 B to 32 KiB; all threads together."),
    "replay_python": ("calls per second",
                      "bench/replay on a trace of Debian's python3 running "
                      "tests/workloads/producer_consumer.py (202 threads: "
                      "short-lived producers hand objects to one consumer), "
                      "recorded on this machine with RUSTY_MALLOC_TRACE; "
                      "its recorded threads replay as real threads. Memory: "
                      "what the replay added to resident memory at its "
                      "peak."),
    "replay_sqlite": ("calls per second",
                      "bench/replay on a trace of sqlite3 running "
                      "tests/workloads/sqlite_workload.sql (inserts, an "
                      "index build, queries), as replay_python."),
    "replay_gcc": ("calls per second",
                   "bench/replay on a trace of cc1plus (g++ -O2 compiling "
                   "bench/alloc_bench.cc), as replay_python."),
    "mimalloc_stress": ("allocations per second",
                        "mimalloc's test/test-stress (iterations chosen for "
                        "about the same number of allocations at every thread "
                        "count): allocations over the process's wall time."),
}


def batch_size(workload):
    """The block size of alloc_bench's batchS workloads; None for others."""
    m = re.fullmatch(r"batch(\d+)", workload)
    return int(m.group(1)) if m else None


def unit(workload):
    size = batch_size(workload)
    if size is not None:
        return ("malloc/free pairs per second",
                f"Batches of 25, 100, 400 and 1600 blocks of {size} B in turn "
                "(the same number of pairs each), each freed in allocation "
                "order, one thread: what glibc's bench-malloc-simple times.")
    return UNITS.get(workload, ("operations per second", ""))


def natural(workload):
    """Sorts batch16 before batch256 before batch1024."""
    m = re.fullmatch(r"(.*?)(\d*)", workload)
    return (m.group(1), int(m.group(2) or -1))


def by_workload(key):
    """Sorts (workload, threads) keys by natural() order of workload."""
    return natural(key[0]), key[1]


COLORS = {"glibc": "#555555", "rusty_locked": "#d62728", OURS: "#1f77b4",
          SAMPLED: "#17becf",
          "jemalloc": "#2ca02c", "tcmalloc": "#ff7f0e", "mimalloc": "#9467bd"}


def load(out):
    rate = defaultdict(dict)  # (workload, threads) -> allocator -> ops/s
    rss = defaultdict(dict)
    resident = defaultdict(dict)  # (workload, threads) -> allocator -> (before, after) KiB
    with open(os.path.join(out, "results.csv")) as f:
        for row in csv.DictReader(f):
            key = (row["workload"], int(row["threads"]))
            rate[key][row["allocator"]] = float(row["ops_per_s"])
            rss[key][row["allocator"]] = int(row["peak_rss_kib"])
            # Empty for python (not alloc_bench), absent from older CSVs,
            # -1 where alloc_bench could not read /proc.
            try:
                before = int(row.get("resident_before_kib") or "")
                after = int(row.get("resident_after_kib") or "")
            except ValueError:
                continue
            if before > 0 and after >= 0:
                resident[key][row["allocator"]] = (before, after)
    instructions = defaultdict(dict)  # workload -> allocator -> per pair
    path = os.path.join(out, "callgrind.csv")
    if os.path.exists(path):
        with open(path) as f:
            for row in csv.DictReader(f):
                try:
                    per_pair = float(row["instructions_per_pair"])
                except ValueError:
                    continue
                # Older suites counted the fast path only, with no column.
                instructions[row.get("workload") or "fastpath"][row["allocator"]] = per_pair
    # (workload, threads) -> allocator -> (failed, runs); None from a suite
    # that did not count failures.
    failures = None
    path = os.path.join(out, "failures.csv")
    if os.path.exists(path):
        failures = {}
        with open(path) as f:
            for row in csv.DictReader(f):
                key = (row["workload"], int(row["threads"]))
                failures.setdefault(key, {})[row["allocator"]] = (
                    int(row["failed_runs"]), int(row["runs"]))
    # (workload, threads) -> allocator -> (ops/s, least peak RSS KiB,
    # largest sampler CPU share or None[, median ratio]): the sampling on/off runs,
    # alternated. Older suites had none: their main rows stand in.
    sampling = defaultdict(dict)
    path = os.path.join(out, "sampling.csv")
    if os.path.exists(path):
        with open(path) as f:
            for row in csv.DictReader(f):
                key = (row["workload"], int(row["threads"]))
                share = row.get("most_sampler_cpu_share") or None
                sampling[key][row["allocator"]] = (
                    float(row["ops_per_s"]), int(row["least_peak_rss_kib"]),
                    float(share) if share else None)
    else:
        for key, v in rate.items():
            for a in (OURS, SAMPLED):
                if a in v:
                    sampling[key][a] = (v[a], rss[key][a], None)
    # A fourth figure for rusty_sampled and rusty_control: the median over
    # the sampling phase's rounds of the rate against rusty_per_thread's in
    # the same round. Older suites had no per-run file.
    path = os.path.join(out, "sampling_runs.csv")
    if os.path.exists(path):
        rounds = defaultdict(dict)
        with open(path) as f:
            for row in csv.DictReader(f):
                key = (row["workload"], int(row["threads"]), row["round"])
                rounds[key][row["allocator"]] = float(row["ops_per_s"])
        ratios = defaultdict(lambda: defaultdict(list))
        for (w, t, _), v in rounds.items():
            for a, r in v.items():
                if a != OURS and OURS in v:
                    ratios[(w, t)][a].append(r / v[OURS])
        for key, v in ratios.items():
            for a, rs in v.items():
                if key in sampling and a in sampling[key]:
                    sampling[key][a] += (statistics.median(rs),)
    return rate, rss, resident, instructions, failures, sampling


def fmt(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    return f"{x / 1e3:.0f}k" if x >= 1e3 else f"{x:.2f}"


def tables(rate, rss, failures, allocators):
    lines = []
    measured = set(rate) | set(failures)

    def cell(table, k, a, show):
        if a in table.get(k, {}):
            return show(table[k][a])
        return "failed" if a in failures.get(k, {}) else "-"

    for workload in sorted({w for w, _ in measured}, key=natural):
        keys = sorted(k for k in measured if k[0] == workload)
        what, note = unit(workload)
        lines.append(f"### {workload}: {what} (x = per-thread allocator / fastest peer)\n")
        if note:
            lines.append(note + "\n")
        lines.append("| allocator | " + " | ".join(f"{t} threads" for _, t in keys) + " |")
        lines.append("|---|" + "---|" * len(keys))
        for a in allocators:
            lines.append(f"| {a} | " + " | ".join(cell(rate, k, a, fmt) for k in keys) + " |")
        ratio = []
        for k in keys:
            r = rate.get(k, {})
            peers = [r[p] for p in PEERS if p in r]
            ratio.append(f"{r[OURS] / max(peers):.2f}x" if peers and OURS in r else "-")
        lines.append("| **per-thread / fastest peer** | " + " | ".join(ratio) + " |\n")
        lines.append(f"Peak RSS (MiB) for {workload}:\n")
        lines.append("| allocator | " + " | ".join(f"{t} threads" for _, t in keys) + " |")
        lines.append("|---|" + "---|" * len(keys))
        for a in allocators:
            lines.append(f"| {a} | " + " | ".join(
                cell(rss, k, a, lambda v: f"{v / 1024:.1f}") for k in keys) + " |")
        leanest = []
        for k in keys:
            r = rss.get(k, {})
            peers = [r[p] for p in PEERS if p in r and r[p] > 0]
            leanest.append(f"{max(r[OURS], 1) / min(peers):.2f}x"
                           if peers and OURS in r else "-")
        lines.append("| **per-thread / leanest peer** | " + " | ".join(leanest) + " |")
        lines.append("")
    return lines


def failure_table(failures, allocators):
    """The runs that failed or crashed (the best of the others is kept)."""
    rows = [(k, a, failures[k][a]) for k in sorted(failures)
            for a in allocators if a in failures[k]]
    if not rows:
        return []
    lines = ["### Failed runs\n",
             "Runs that exited non-zero, were killed or printed no figure "
             "(see the suite's output for the signal or status).\n",
             "| workload | allocator | failed runs |", "|---|---|---|"]
    for (w, t), a, (failed, runs) in rows:
        lines.append(f"| {w}, {t} threads | {a} | {failed} of {runs} |")
    lines.append("")
    return lines


def resident_ratios(resident, allocator):
    """(after / before, key) for each workload and thread count."""
    return [(resident[k][allocator][1] / resident[k][allocator][0], k)
            for k in sorted(resident, key=by_workload) if allocator in resident[k]]


def resident_table(resident, allocators):
    if not resident:
        return []
    present = [a for a in allocators if any(a in v for v in resident.values())]
    lines = ["### Resident memory after freeing everything\n",
             "Anonymous resident memory (RssAnon) once the workload has freed "
             "everything and joined its threads, 1.2 s later (past the 1 s purge "
             "delay; a malloc/free of 32 B and one of 1 MiB from the main "
             "thread 0.1 s before the reading), against just before the "
             "workload started: after / before "
             "(before -> after KiB).\n",
             "| workload | " + " | ".join(present) + " |",
             "|---|" + "---|" * len(present)]
    for k in sorted(resident, key=by_workload):
        cells = []
        for a in present:
            if a in resident[k]:
                before, after = resident[k][a]
                cells.append(f"{after / before:.2f}x ({before} -> {after})")
            else:
                cells.append("-")
        lines.append(f"| {k[0]}, {k[1]} threads | " + " | ".join(cells) + " |")
    verdicts = []
    for a in present:
        r, _ = max(resident_ratios(resident, a))
        verdicts.append("met" if r <= RESIDENT_TARGET else "**not met**")
    lines.append(f"| **within {RESIDENT_TARGET:.2f}x of before everywhere** | "
                 + " | ".join(verdicts) + " |\n")
    return lines


def best_peer(values):
    """(value, peer) of the peer with the fewest instructions, or None."""
    return min(((values[p], p) for p in PEERS if p in values), default=None)


def instruction_table(instructions):
    if not instructions:
        return []
    workloads = ([w for w in PAIR_WORKLOADS if w in instructions]
                 + sorted(set(instructions) - set(PAIR_WORKLOADS), key=natural))
    present = [a for a in ORDER if any(a in v for v in instructions.values())]
    lines = ["### Instructions per malloc/free pair (callgrind)\n",
             "The difference between two run lengths, so start-up, first "
             "touches and exit cancel: the steady loop, the benchmark's own "
             "loop and its write to each block included. fastpath is "
             "malloc(32) then free; batchS as in its throughput table below. "
             "Fewer is better.\n",
             "| workload | " + " | ".join(present) + " | per-thread / best peer |",
             "|---|" + "---|" * (len(present) + 1)]
    for w in workloads:
        v = instructions[w]
        best = best_peer(v)
        ratio = (f"{v[OURS] / best[0]:.2f}x ({best[1]})" if best and OURS in v
                 else "-")
        lines.append(f"| {w} | " + " | ".join(
            f"{v[a]:.1f}" if a in v else "-" for a in present) + f" | {ratio} |")
    lines.append("")
    return lines


def targets(rate, rss, resident, instructions, failures, sampling):
    lines = ["### Targets\n", "| target | figures | verdict |", "|---|---|---|"]

    def row(name, figures, met):
        """met None: a figure for scale, not a target."""
        verdict = "-" if met is None else "met" if met else "**not met**"
        lines.append(f"| {name} | {figures} | {verdict} |")

    def where(k):
        return f"{k[0]}, {k[1]} threads"

    ours_failed = [f"{w}, {t} threads ({failures[(w, t)][OURS][0]} of "
                   f"{failures[(w, t)][OURS][1]})"
                   for w, t in sorted(failures or {}) if OURS in failures[(w, t)]]
    if failures is not None and (ours_failed or any(OURS in v for v in rate.values())):
        row("every per-thread run completes (no crash, no failure)",
            "failed: " + "; ".join(ours_failed) if ours_failed else "all completed",
            not ours_failed)

    # The speed targets' and the peer targets': instructions per pair on the
    # batches, against the best peer on each; judged whenever callgrind ran,
    # so that a suite from before the batches says it has none.
    counted = [(instructions[w][OURS] / best_peer(instructions[w])[0], w)
               for w in BATCHES if OURS in instructions.get(w, {})
               and best_peer(instructions[w])]
    missing = [w for w in BATCHES if w not in {c for _, c in counted}]

    def batch_row(targets):
        figures = []
        if counted:
            r, w = max(counted)
            peer_count, peer = best_peer(instructions[w])
            figures.append(f"worst {r:.2f}x ({w}: {instructions[w][OURS]:.1f} vs "
                           f"{peer}'s {peer_count:.1f})")
            figures.append(", ".join(f"{c} {x:.2f}x" for x, c in counted))
        if missing:
            figures.append(f"not counted: {', '.join(missing)}")
        row("per-thread instructions per malloc/free pair <= the best of "
            "jemalloc, tcmalloc and mimalloc on 16, 256 and 1,024-byte batches "
            f"({targets})", "; ".join(figures),
            not missing and max(counted)[0] <= 1.0)

    if instructions:
        batch_row("speed targets")

    # Speed target (b): every workload and thread count within 1.1x of the
    # fastest peer, and the geometric mean of the ratios ahead of each peer.
    def peer_ratios_for(peers):
        return [(rate[k][OURS] / max(rate[k][p] for p in peers if p in rate[k]), k)
                for k in rate if OURS in rate[k] and any(p in rate[k] for p in peers)]

    peer_ratios = peer_ratios_for(PEERS)

    def peer_row(limit, name, targets, ratios):
        r, k = min(ratios)
        short = sum(x < 1 / limit for x, _ in ratios)
        row(f"per-thread within {name} of the fastest peer on every "
            f"workload and thread count ({targets})",
            f"worst {r:.2f}x of the fastest ({where(k)}); short on {short} of "
            f"{len(ratios)}", r >= 1 / limit)

    if peer_ratios:
        peer_row(PEER_TARGET, f"{PEER_TARGET:.1f}x", "speed targets", peer_ratios)

    # (geometric mean of per-thread / peer throughput, peer, rows), per peer.
    def means_for(peers):
        found = []
        for p in peers:
            logs = [math.log(rate[k][OURS] / rate[k][p]) for k in rate
                    if rate[k].get(OURS, 0) > 0 and rate[k].get(p, 0) > 0]
            if logs:
                found.append((math.exp(sum(logs) / len(logs)), p, len(logs)))
        return found

    means = means_for(PEERS)

    def mean_figures(show, means=means):
        counts = {n for _, _, n in means}
        if len(counts) == 1:
            return (", ".join(f"{show(m)} {p}" for m, p, _ in means)
                    + f" (over {counts.pop()} workload and thread counts)")
        return ", ".join(f"{show(m)} {p} (over {n})" for m, p, n in means)

    if means:
        row("per-thread ahead of every peer in the geometric mean of its "
            "throughput ratios over all workloads and thread counts (speed targets)",
            mean_figures(lambda m: f"{m:.2f}x"), all(m > 1 for m, _, _ in means))

    # Speed target (c).
    worst = min(((rate[k][OURS] / rate[k]["glibc"], k) for k in rate
                 if OURS in rate[k] and "glibc" in rate[k]), default=None)
    if worst:
        r, k = worst
        row("per-thread >= glibc on every workload and thread count (speed targets)",
            f"worst {r:.2f}x ({where(k)})", r >= 1.0)
    key = ("vectors", 16)
    if key in rate and OURS in rate[key] and "rusty_locked" in rate[key]:
        r = rate[key][OURS] / rate[key]["rusty_locked"]
        row("per-thread >= 10x locked at 16 threads (author's experiment; speed targets)",
            f"{r:.1f}x", r >= 10)

    # (per-thread / leanest peer peak RSS, key) for each row.
    def rss_ratios_for(peers):
        # A replay's figure is what it added, which can be 0: over 1 KiB.
        return [(max(rss[k][OURS], 1) /
                 max(min(rss[k][p] for p in peers if p in rss[k]), 1), k)
                for k in rss if OURS in rss[k] and any(p in rss[k] for p in peers)]

    rss_ratios = rss_ratios_for(PEERS)
    if rss_ratios:
        r, (w, t) = max(rss_ratios)
        row("per-thread peak RSS within 1.25x of the smallest peer's",
            f"worst {r:.2f}x ({w}, {t} threads)", r <= 1.25)
    ours = resident_ratios(resident, OURS)
    if ours:
        r, (w, t) = max(ours)
        meeting = [a for a in ORDER if any(a in v for v in resident.values())
                   and max(resident_ratios(resident, a))[0] <= RESIDENT_TARGET]
        row(f"per-thread resident memory after freeing everything within "
            f"{RESIDENT_TARGET:.2f}x of before, past the purge delay",
            f"worst {r:.2f}x ({w}, {t} threads); within {RESIDENT_TARGET:.2f}x "
            f"everywhere: {', '.join(meeting) or 'none'}", r <= RESIDENT_TARGET)
    fast = instructions.get("fastpath", {})
    if OURS in fast and "mimalloc" in fast:
        r = fast[OURS] / fast["mimalloc"]
        row("fast path <= 1.25x mimalloc's instructions per malloc/free pair",
            f"{fast[OURS]:.1f} vs {fast['mimalloc']:.1f} ({r:.2f}x)", r <= 1.25)

    # The peer targets, against glibc too.
    peer_ratios = peer_ratios_for(PEER_TARGETS_PEERS)
    means = means_for(PEER_TARGETS_PEERS)
    rss_ratios = rss_ratios_for(PEER_TARGETS_PEERS)
    if peer_ratios:
        peer_row(PEER_TARGETS_PEER, f"{PEER_TARGETS_PEER:.2f}x", "peer targets", peer_ratios)
    if means:
        # Time is the inverse of throughput: per-thread's time over the
        # peer's is 1 / (per-thread / peer throughput).
        row(f"per-thread's time at most {PEER_TARGETS_TIME:.2f}x each peer's in the "
            "geometric mean over all workloads and thread counts (peer targets)",
            mean_figures(lambda m: f"{1 / m:.3f}x", means),
            all(1 / m <= PEER_TARGETS_TIME for m, _, _ in means))
    if rss_ratios:
        r, k = max(rss_ratios)
        over = sum(x > PEER_TARGETS_RSS for x, _ in rss_ratios)
        figures = (f"worst {r:.2f}x ({where(k)}); over on {over} of "
                   f"{len(rss_ratios)}")
        at_16 = [x for x in rss_ratios if x[1][1] == 16]
        if at_16:
            r16, k16 = max(at_16)
            figures += f"; worst at 16 threads {r16:.2f}x ({k16[0]})"
        row(f"per-thread peak RSS within {PEER_TARGETS_RSS:.1f}x of the leanest "
            "peer's on every workload and thread count, 16 threads included "
            "(peer targets)", figures, r <= PEER_TARGETS_RSS)
    if OURS in fast:
        row(f"fast path <= {PEER_TARGETS_FAST_PATH} instructions per malloc/free "
            "pair (fastpath; peer targets)", f"{fast[OURS]:.1f}",
            fast[OURS] <= PEER_TARGETS_FAST_PATH)
    if instructions:
        batch_row("peer targets")
    sampled = sorted(k for k, v in sampling.items() if OURS in v and SAMPLED in v)
    if sampled:
        def ratio(k, a):
            """The median ratio of the rounds when known, else the best runs'."""
            v = sampling[k][a]
            return v[3] if len(v) > 3 else v[0] / sampling[k][OURS][0]
        paired = all(len(sampling[k][SAMPLED]) > 3 for k in sampled)
        ratios = [(ratio(k, SAMPLED), k) for k in sampled]
        r, k = min(ratios)
        row(f"sampling on (default rate) within {100 - 100 * SAMPLED_TIME:.0f}% "
            "of sampling off on every workload and thread count"
            + (" (median of the rounds' ratios)" if paired else ""),
            f"worst {r:.3f}x ({where(k)}); short on "
            f"{sum(x < SAMPLED_TIME for x, _ in ratios)} of {len(ratios)}",
            r >= SAMPLED_TIME)
        controls = [(ratio(k, CONTROL), k)
                    for k in sampled if CONTROL in sampling[k]]
        if controls:
            lo, klo = min(controls)
            hi, khi = max(controls)
            row("for scale: sampling off against itself (rusty_control), the "
                "same alternation", f"{lo:.3f}x ({where(klo)}) to {hi:.3f}x "
                f"({where(khi)}); beyond 2% on "
                f"{sum(abs(x - 1) > 1 - SAMPLED_TIME for x, _ in controls)} "
                f"of {len(controls)}", None)
        shares = [(sampling[k][SAMPLED][2], k) for k in sampled
                  if sampling[k][SAMPLED][2] is not None]
        if shares:
            sh, k = max(shares)
            row(f"the sampler's own CPU time under {100 * SAMPLED_CPU_SHARE:.0f}% "
                "of the process's on every workload and thread count (measured "
                "in-process, worst run)", f"worst {100 * sh:.2f}% ({where(k)}); "
                f"over on {sum(x >= SAMPLED_CPU_SHARE for x, _ in shares)} of "
                f"{len(shares)}", sh < SAMPLED_CPU_SHARE)
        added = [(sampling[k][SAMPLED][1] - sampling[k][OURS][1], k)
                 for k in sampled]
        d, k = max(added)
        row(f"sampling adds under {SAMPLED_RSS_KIB} KiB of peak RSS on every "
            "workload and thread count",
            f"worst {d:+d} KiB ({where(k)}); over on "
            f"{sum(x >= SAMPLED_RSS_KIB for x, _ in added)} of {len(added)}",
            d < SAMPLED_RSS_KIB)
    lines.append("")
    return lines


def sampling_table(sampling):
    """Sampling on against off, per workload and thread count."""
    keys = sorted((k for k, v in sampling.items() if OURS in v and SAMPLED in v),
                  key=lambda k: (natural(k[0]), k[1]))
    if not keys:
        return []
    lines = ["## Sampling on against off", "",
             "The per-thread drop-in with the sampler at its defaults (a "
             "sample every 2 MiB on average, paced to 1/256 of a thread's "
             "CPU time; every sample guarded and profiled) against it off, "
             "and against it off again (the control), in alternate runs: "
             "the best rate of each and the least peak RSS of any of its "
             "runs, and the median over the rounds of each round's ratio "
             "(a round runs off, on and off again back to back, so its "
             "ratios cancel the machine's slow drifts; the median drops "
             "rounds caught in a burst of noise). The sampler's CPU share is what the sampled runs "
             "reported at exit (RUSTY_MALLOC_STATS): the CPU time spent in "
             "sampled allocations and in frees of guarded blocks, against "
             "the process's CPU time, in the run where it was largest. "
             "alloc_bench's workloads run longer here than in the tables "
             "below (BENCH_SAMPLING_SCALE times the operations, 4 by "
             "default).", "",
             "| workload | threads | off | on | on / off, best runs | "
             "on / off, median of rounds | off again / off, best runs | "
             "off again / off, median of rounds | sampler's CPU share | "
             "peak RSS off, on (KiB) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for k in keys:
        off, rss_off = sampling[k][OURS][:2]
        on, rss_on, share = sampling[k][SAMPLED][:3]

        def median(a):
            v = sampling[k].get(a, ())
            return f"{v[3]:.3f}x" if len(v) > 3 else "-"
        control = (f"{sampling[k][CONTROL][0] / off:.3f}x"
                   if CONTROL in sampling[k] else "-")
        share = f"{100 * share:.2f}%" if share is not None else "-"
        lines.append(f"| {k[0]} | {k[1]} | {fmt(off)} | {fmt(on)} | "
                     f"{on / off:.3f}x | {median(SAMPLED)} | {control} | "
                     f"{median(CONTROL)} | {share} | {rss_off}, {rss_on} |")
    lines.append("")
    return lines


def svg(rate, allocators, path):
    """A panel of throughput against threads for each of the multi-threaded
    workloads, then one of bars for the single-thread malloc/free loops
    (fastpath and the batches), which have no thread axis."""
    workloads = [w for w in ("vectors", "mixed", "producer_consumer")
                 if any(k[0] == w for k in rate)]
    loops = [w for w in PAIR_WORKLOADS if (w, 1) in rate]
    panels = len(workloads) + (1 if loops else 0)
    width, height, pad = 360, 260, 56
    # The legend wraps when the panels are too few to hold it on one line.
    per_line = max(1, width * max(1, panels) // 150)
    legend_lines = -(-len(allocators) // per_line)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * max(1, panels)}" '
             f'height="{height + 40 + 20 * legend_lines}" font-family="sans-serif" font-size="11">',
             f'<rect width="100%" height="100%" fill="white"/>']

    def frame(x0, title, top):
        def py(v):
            return height - pad + 10 - v / top * (height - 2 * pad)
        parts.append(f'<text x="{x0 + width / 2}" y="16" text-anchor="middle" font-weight="bold">{title}</text>')
        parts.append(f'<line x1="{x0 + pad}" y1="{py(0)}" x2="{x0 + width - pad}" y2="{py(0)}" stroke="black"/>')
        parts.append(f'<line x1="{x0 + pad}" y1="{py(0)}" x2="{x0 + pad}" y2="{py(top)}" stroke="black"/>')
        for frac in (0.5, 1.0):
            parts.append(f'<text x="{x0 + pad - 4}" y="{py(top * frac / 1.1)}" text-anchor="end">{fmt(top * frac / 1.1)}</text>')
        return py

    for i, w in enumerate(workloads):
        x0 = i * width
        keys = sorted(k for k in rate if k[0] == w)
        threads = [t for _, t in keys]
        top = max(max(rate[k].values()) for k in keys) * 1.1
        def px(t):
            j = threads.index(t)
            return x0 + pad + j * (width - 2 * pad) / max(1, len(threads) - 1)
        py = frame(x0, f"{w}: ops/s vs threads", top)
        for t in threads:
            parts.append(f'<text x="{px(t)}" y="{py(0) + 14}" text-anchor="middle">{t}</text>')
        for a in allocators:
            pts = [(px(t), py(rate[(w, t)][a])) for t in threads if a in rate[(w, t)]]
            if pts:
                d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                parts.append(f'<polyline points="{d}" fill="none" stroke="{COLORS.get(a, "black")}" stroke-width="2"/>')
    if loops:
        x0 = len(workloads) * width
        top = max(max(rate[(w, 1)].values()) for w in loops) * 1.1
        py = frame(x0, "1 thread: malloc/free pairs/s", top)
        group = (width - 2 * pad) / len(loops)
        bar = group * 0.8 / max(1, len(allocators))
        for g, w in enumerate(loops):
            gx = x0 + pad + g * group + group * 0.1
            parts.append(f'<text x="{gx + group * 0.4}" y="{py(0) + 14}" text-anchor="middle">{w}</text>')
            for j, a in enumerate(allocators):
                if a in rate[(w, 1)]:
                    y = py(rate[(w, 1)][a])
                    parts.append(f'<rect x="{gx + j * bar:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                                 f'height="{py(0) - y:.1f}" fill="{COLORS.get(a, "black")}"/>')
    for j, a in enumerate(allocators):
        x, y = 10 + j % per_line * 150, height + 30 + j // per_line * 20
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLORS.get(a, "black")}"/>')
        parts.append(f'<text x="{x + 16}" y="{y + 10}">{a}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main():
    """benchmark_report.py OUT: report.md's text from the CSVs in OUT, and
    OUT/throughput.svg. benchmark_report.py --targets OUT: the table of
    targets only (the suite prints it at the end)."""
    only_targets = sys.argv[1] == "--targets"
    out = sys.argv[2] if only_targets else sys.argv[1]
    rate, rss, resident, instructions, failures, sampling = load(out)
    if only_targets:
        print("\n".join(targets(rate, rss, resident, instructions, failures,
                                 sampling)))
        return
    allocators = [a for a in ORDER if any(a in v for v in rate.values())
                  or any(a in v for v in (failures or {}).values())]
    lines = (targets(rate, rss, resident, instructions, failures, sampling)
             + instruction_table(instructions)
             + sampling_table(sampling)
             + failure_table(failures or {}, allocators)
             + resident_table(resident, allocators)
             + tables(rate, rss, failures or {}, allocators))
    svg(rate, allocators, os.path.join(out, "throughput.svg"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

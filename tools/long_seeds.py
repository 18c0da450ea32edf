#!/usr/bin/env python3
"""Adds long seed inputs to the fuzz corpora (fuzz/corpus/<harness>/).

libFuzzer grows inputs slowly from short seeds, and a harness that only
ever sees a few operations never fills a page, holds two chunks or sees a
thread exit. These seeds are long from the start: random operation streams
of a few hundred bytes to max_len, and for the per-thread lifecycle harness
scripted scenarios (two chunks, the second emptied by another thread, the
owner exits, a new thread adopts). Deterministic: the same seeds each run.

Usage: tools/long_seeds.py [harness...]
"""

import hashlib
import pathlib
import random
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLASS_1024 = 19  # allocator/per_thread/size_classes.h: the 1,024-byte class.
CLASS_32K = 39


def all_harnesses():
    """Every fuzz harness, from the one list (tools/common.sh)."""
    script = ('source tools/common.sh && fuzz_harnesses h && '
              'printf "%s\\n" "${h[@]}"')
    return subprocess.run(["bash", "-c", script], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.split()


def max_len(harness):
    options = ROOT / "fuzz" / f"{harness}.options"
    for line in options.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "max_len":
            return int(value)
    return 1024


def lifecycle_scenarios():
    """Byte streams for per_thread_lifecycle_fuzzer's decoder.

    The decoder is Lifecycle::Step, in fuzz/lifecycle/lifecycle.h.
    """
    def alloc(actor, cls, count_byte):
        return [0, actor, cls, count_byte, 0]

    def free_group(actor, index, whole_chunk):
        return [3, actor, index & 0xFF, index >> 8, 0 if whole_chunk else 1]

    # Five of the largest allocations hold 5,105 blocks of 1 KiB: two chunks.
    two_chunks = alloc(0, CLASS_1024, 255) * 5
    scenarios = []
    for source in (0, 1):  # mmap chunk source, grower chunk source
        # Another thread frees the second chunk; the owner exits; a new
        # thread adopts the heap and allocates.
        scenarios.append([source] + two_chunks + free_group(1, 4000, True) +
                         [6, 0] + alloc(2, CLASS_1024, 20) +
                         alloc(3, CLASS_32K, 12))
        # The same, but the frees land after the exit (an abandoned heap),
        # and the adopter finds them pending.
        scenarios.append([source] + two_chunks + [6, 0] +
                         free_group(1, 4000, True) + free_group(1, 100, False) +
                         alloc(0, CLASS_1024, 4) + [4, 2, 2, 1])
        # An exit racing with frees into the exiting heap, then churn.
        churn = []
        for i in range(3):
            churn += alloc(i % 4, (i * 7) % 40, 40 + i) + [7, i % 4, 1, 1]
        scenarios.append([source] + two_chunks + alloc(1, CLASS_32K, 20) +
                         [7, 0, 0, 0] + churn)
    return scenarios


def random_stream(rng, length):
    # Small byte values decode to small sizes and low op codes often enough
    # to keep blocks live; the rest is uniform.
    return [rng.randrange(256) if rng.random() < 0.6 else rng.randrange(16)
            for _ in range(length)]


def main(harnesses):
    rng = random.Random(20261125)
    if not harnesses:
        harnesses = all_harnesses()
    for harness in harnesses:
        corpus = ROOT / "fuzz" / "corpus" / harness
        corpus.mkdir(parents=True, exist_ok=True)
        limit = max_len(harness)
        seeds = [random_stream(rng, rng.randrange(limit // 4, limit + 1))
                 for _ in range(12)]
        if harness == "per_thread_lifecycle_fuzzer":
            seeds += lifecycle_scenarios()
        for seed in seeds:
            data = bytes(seed[:limit])
            name = hashlib.sha1(data).hexdigest()
            (corpus / name).write_bytes(data)
        print(f"{harness}: {len(seeds)} long seeds, max_len {limit}")


if __name__ == "__main__":
    main(sys.argv[1:])

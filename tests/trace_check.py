"""Checks trace_dump's text of a trace that trace_program recorded.

Usage: trace_check.py MODE DUMP [CHILD_DUMP]

MODE is trace_program's: normal, fork or kill. The program's calls use
sizes nobody else allocates, so each is found by its size and then
followed by its id: the checks hold whatever else the C library did.
"""

import sys


def parse(path):
    """Records as (thread, op, fields) in the dump's order, and the summary."""
    records, summary = [], {}
    with open(path) as f:
        for line in f:
            words = line.split()
            if words[0].startswith("threads="):
                summary = dict(w.split("=") for w in words)
                continue
            fields = dict(w.split("=") for w in words[2:])
            records.append((words[0], words[1],
                            {k: int(v) for k, v in fields.items()}))
    return records, summary


class Checker:
    def __init__(self, path):
        self.path = path
        self.records, self.summary = parse(path)
        self.failures = 0

    def find(self, op, after=-1, **want):
        """Index of the first record after `after` with op and fields."""
        for i in range(after + 1, len(self.records)):
            _, got_op, fields = self.records[i]
            if got_op == op and all(fields.get(k) == v for k, v in want.items()):
                return i
        self.fail(f"no {op} {want} after record {after}")
        return None

    def fail(self, what):
        print(f"FAIL {self.path}: {what}")
        self.failures += 1

    def field(self, i, name):
        return self.records[i][2][name]

    def thread(self, i):
        return self.records[i][0]


def check_calls(c):
    """trace_program's Calls(), in order, on the main thread."""
    a = c.find("malloc", size=100001)
    if a is None:
        return
    main = c.thread(a)
    b = c.find("calloc", a, count=3, size=40001)
    a2 = c.find("realloc", b, old=c.field(a, "id"), size=200001)
    cc = c.find("aligned_alloc", a2, align=64, size=100007)
    d = c.find("aligned_alloc", cc, align=4096, size=40960)
    if None in (b, a2, cc, d):
        return
    u = c.find("usable_size", d, id=c.field(b, "id"))
    fb = c.find("free", u, id=c.field(b, "id"))
    fa = c.find("free", fb, id=c.field(a2, "id"))
    fc = c.find("free", fa, id=c.field(cc, "id"))
    fd = c.find("free_sized", fc, id=c.field(d, "id"), size=40960)
    e = c.find("realloc", fd, old=0, size=100009)
    if e is None:
        return
    e0 = c.find("realloc", e, old=c.field(e, "id"), size=0, id=0)
    f = c.find("new", e0, align=0, size=4 * 25003)
    g = c.find("new", f, align=256, size=100011)
    if None in (f, g):
        return
    c.find("delete", f, id=c.field(f, "id"))
    c.find("delete", g, id=c.field(g, "id"))
    x = c.find("malloc", size=100003)
    if x is None:
        return
    if c.thread(x) == main:
        c.fail("the worker's malloc is on the main thread")
    freed = c.find("free", g, id=c.field(x, "id"))
    if freed is not None and c.thread(freed) != main:
        c.fail("the worker's block is not freed by the main thread")
    worker = [r for r in c.records if r[0] == c.thread(x)]
    if len(worker) < 40000:
        c.fail(f"the worker has {len(worker)} records, expected over 40000")
    for i in (a, b, a2, cc, d, e, f, g):
        if c.thread(i) != main:
            c.fail(f"record {c.records[i]} is not on the main thread")


def main():
    mode, dump = sys.argv[1], sys.argv[2]
    c = Checker(dump)
    if mode == "kill":
        # Only what was flushed: the worker's frames, at its exit.
        if c.summary.get("complete") != "0":
            c.fail("a killed process's trace claims to be complete")
        c.find("malloc", size=100003)
    else:
        if c.summary.get("complete") != "1":
            c.fail("the trace has no end record")
        check_calls(c)
    if mode == "fork":
        inherited = c.find("malloc", size=100013)
        if inherited is not None:
            c.find("free", inherited, id=c.field(inherited, "id"))
    failures = c.failures
    if mode == "fork":
        child = Checker(sys.argv[3])
        if child.summary.get("complete") != "1":
            child.fail("the child's trace has no end record")
        if inherited is not None:
            block = c.field(inherited, "id")
            first = child.find("malloc", size=100013, id=block)
            child.find("free", first, id=block)
        child.find("malloc", size=100015)
        failures += child.failures
    if failures:
        sys.exit(1)
    print(f"ok {mode}: {c.summary}")


if __name__ == "__main__":
    main()

# An allocation-heavy Python workload with a deterministic output: dicts,
# lists, strings, sets, JSON and sorting over a few hundred thousand objects.
import hashlib
import json

digest = hashlib.sha256()
table = {}
for i in range(200000):
    key = "k%07d" % ((i * 7919) % 200003)
    table[key] = [i, str(i) * (i % 7), {"n": i % 13}]
    if i % 3 == 0:
        table.pop("k%07d" % ((i * 31) % 200003), None)
digest.update(str(len(table)).encode())
for key in sorted(table)[::97]:
    digest.update(json.dumps(table[key], sort_keys=True).encode())
words = [("w%d" % (i % 5000)) * (1 + i % 5) for i in range(300000)]
counts = {}
for w in words:
    counts[w] = counts.get(w, 0) + 1
digest.update(repr(sorted(counts.items())[:1000]).encode())
text = " ".join(words[:100000])
digest.update(hashlib.md5(text.upper().encode()).digest())
print("entries", len(table))
print("distinct", len(set(words)))
print("digest", digest.hexdigest())

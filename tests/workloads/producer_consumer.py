# Short-lived producer threads hand bytes objects to one long-lived consumer
# thread through a queue.Queue. Objects above 512 bytes bypass CPython's
# small-object allocator, so every payload is a malloc on a producer thread
# and a free on the consumer thread, often after the producer has exited.
#
# One producer per wave is a bulk producer: it fills more than one 4 MiB
# chunk of one size class, waits until the consumer has freed the later
# half, and hands over the earlier half, which the consumer frees only after
# the producer has exited. Exit and a later thread's adoption of the heap
# then each empty part of a chunk, the case that crashed the per-thread
# allocator. Prints a summary that does not depend on scheduling.
import queue
import random
import threading
import zlib

WAVES = 20
PRODUCERS_PER_WAVE = 10
ITEMS_PER_PRODUCER = 60
ITEMS_PER_PUT = 16
# Size bands that each stay within one size class of the allocator, with
# how many blocks of that class fit in a 64 KiB page.
BULK_BANDS = [(8193, 9600, 6), (3585, 4096, 16), (1793, 2048, 32)]
BULK_PAGES = 130  # Two chunks' worth, as the heap may bring a chunk along.
WAVE_END = "wave end"

# Payloads are slices of one random buffer: a slice is a fresh allocation
# and a copy, far cheaper than generating random bytes for each.
SOURCE = random.Random(20240611).randbytes(1 << 20)


def layout(producer):
    rng = random.Random(producer)
    if producer % PRODUCERS_PER_WAVE != 3:
        lo, hi, count = 600, 9600, ITEMS_PER_PRODUCER
    else:
        lo, hi, per_page = BULK_BANDS[producer // PRODUCERS_PER_WAVE %
                                      len(BULK_BANDS)]
        count = BULK_PAGES * per_page
    return [(rng.randrange(len(SOURCE) - hi), rng.randint(lo, hi))
            for _ in range(count)]


def put_groups(inbox, producer, payloads, first, last, hold=False):
    for start in range(first, last, ITEMS_PER_PUT):
        end = min(start + ITEMS_PER_PUT, last)
        inbox.put((producer, start, payloads[start:end], hold))


def produce(producer, inbox):
    payloads = [SOURCE[offset:offset + size]
                for offset, size in layout(producer)]
    if producer % PRODUCERS_PER_WAVE != 3:
        put_groups(inbox, producer, payloads, 0, len(payloads))
        return
    half = len(payloads) // 2
    put_groups(inbox, producer, payloads, half, len(payloads))
    freed = threading.Event()
    inbox.put(freed)
    del payloads[half:]
    freed.wait()
    put_groups(inbox, producer, payloads, 0, half, hold=True)


def consume(inbox, summary):
    count = total_bytes = checksum = bad = 0
    source = memoryview(SOURCE)
    layouts = {}
    held = []
    while True:
        entry = inbox.get()
        if entry is None:
            break
        if entry == WAVE_END:
            held.clear()
            layouts.clear()
            inbox.task_done()
            continue
        if isinstance(entry, threading.Event):
            entry.set()
            inbox.task_done()
            continue
        producer, first, payloads, hold = entry
        if producer not in layouts:
            layouts[producer] = layout(producer)
        for item, data in enumerate(payloads, first):
            offset, size = layouts[producer][item]
            if data != source[offset:offset + size]:
                bad += 1
            count += 1
            total_bytes += len(data)
            # A sum does not depend on the order the items arrive in.
            checksum = (checksum + zlib.crc32(data) * (item + 1)) % (1 << 64)
        if hold:
            held.append(payloads)
        # Drops the last references now, before the producer may go on.
        del entry, payloads, data
        inbox.task_done()
    summary.update(count=count, bytes=total_bytes, checksum=checksum, bad=bad)


inbox = queue.Queue()
summary = {}
consumer = threading.Thread(target=consume, args=(inbox, summary))
consumer.start()
producer = 0
for wave in range(WAVES):
    threads = []
    for _ in range(PRODUCERS_PER_WAVE):
        threads.append(threading.Thread(target=produce, args=(producer, inbox)))
        producer += 1
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Everything of this wave is freed before the next wave's threads adopt
    # the heaps this one left behind.
    inbox.put(WAVE_END)
    inbox.join()
inbox.put(None)
consumer.join()
print("producers", producer)
print("items", summary["count"])
print("bytes", summary["bytes"])
print("bad", summary["bad"])
print("checksum", summary["checksum"])

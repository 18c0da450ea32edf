#include "bench/replay_thread.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "bench/replay.h"
#include "bench/replay_pattern.h"

namespace rusty_malloc::replay {

using trace::Op;
using trace::Record;

namespace {

// One recorded thread's records, replayed in order.
class ThreadReplayer {
 public:
  ThreadReplayer(Shared& shared, std::uint32_t thread)
      : shared_(shared), allocator_(shared.allocator), thread_(thread) {}

  void Run(const std::vector<Record>& records) {
    std::atomic<std::uint64_t>& replayed = shared_.progress[thread_].records;
    for (const Record& record : records) {
      Step(record);
      replayed.store(replayed.load(std::memory_order_relaxed) + 1,
                     std::memory_order_relaxed);
    }
  }

 private:
  void Step(const Record& r) {
    switch (r.op) {
      case Op::kThreadStart:
      case Op::kEnd:
        return;
      case Op::kMalloc:
        return Allocated(r, allocator_.Malloc(r.size), r.size);
      case Op::kCalloc:
        return Calloc(r);
      case Op::kRealloc:
        return Realloc(r);
      case Op::kAlignedAlloc:
        return Allocated(r, allocator_.AlignedAlloc(r.align, r.size), r.size);
      case Op::kNew:
        return Allocated(r, allocator_.New(r.size, r.align), r.size,
                         /*from_new=*/true);
      case Op::kFree:
      case Op::kFreeSized:
      case Op::kDelete:
      case Op::kDeleteSized:
        return Free(r);
      case Op::kUsableSize:
        return Use(r);
    }
  }

  // Block `r.id` is `p`, of `size` bytes: its slot is filled and released.
  // A failed recorded allocation (id 0) has no later records: a block the
  // replay got for it goes back at once.
  void Allocated(const Record& r, void* p, std::size_t size,
                 bool from_new = false) {
    const std::size_t new_align = from_new ? r.align : 0;
    if (r.id == 0) {
      if (p != nullptr) Deallocate(p, from_new, new_align);
      return;
    }
    // Size 0 may give nullptr (realloc(p, 0) frees, under glibc).
    if (p == nullptr && size > 0) {
      shared_.errors.Add(shared_.errors.failed_allocations,
                         "replay: offset %llu: id %llu: allocating %llu "
                         "bytes failed\n",
                         static_cast<ull>(r.offset), static_cast<ull>(r.id),
                         static_cast<ull>(r.size));
    }
    if (p != nullptr) WritePattern(p, size, r.id);
    Slot& slot = shared_.slots[r.id];
    slot.ptr = p;
    slot.size = p != nullptr ? size : 0;
    slot.from_new = from_new;
    slot.new_align = new_align;
    slot.ready.store(true, std::memory_order_release);
  }

  void Deallocate(void* p, bool from_new, std::size_t new_align) {
    if (from_new) return allocator_.Delete(p, new_align);
    allocator_.Free(p);
  }

  void Calloc(const Record& r) {
    void* p = allocator_.Calloc(r.count, r.size);
    std::size_t bytes;
    // Overflowing, it fails: SIZE_MAX makes a recorded success an error.
    if (__builtin_mul_overflow(r.count, r.size, &bytes)) {
      bytes = p == nullptr ? SIZE_MAX : 0;
    }
    if (p != nullptr && NonZeroSamples(p, bytes) != 0) {
      shared_.errors.Add(shared_.errors.pattern,
                         "replay: offset %llu: id %llu: calloc's block is "
                         "not zero\n",
                         static_cast<ull>(r.offset), static_cast<ull>(r.id));
    }
    Allocated(r, p, bytes);
  }

  void Realloc(const Record& r) {
    if (r.old_id != 0 && r.id == 0 && r.size > 0) {
      // It failed in the recording, which kept the block where its later
      // records expect it: only the request is replayed.
      return Allocated(r, allocator_.Malloc(r.size), r.size);
    }
    if (r.old_id == 0) {
      return Allocated(r, allocator_.Realloc(nullptr, r.size), r.size);
    }
    Slot& old = Acquire(r, r.old_id, /*frees=*/true);
    CheckPattern(r, r.old_id, old.ptr, old.size, old.size);
    void* p = allocator_.Realloc(old.ptr, r.size);
    if (p != nullptr) {
      // The contents must have moved with the block.
      CheckPattern(r, r.old_id, p, old.size,
                   std::min<std::size_t>(r.size, old.size));
    } else if (r.size > 0) {
      allocator_.Free(old.ptr);  // Still allocated; the trace is done with it.
    }
    old.freed = true;
    Allocated(r, p, r.size);
  }

  void Free(const Record& r) {
    void* p = nullptr;
    std::size_t new_align = 0;
    if (r.id != 0) {
      Slot& slot = Acquire(r, r.id, /*frees=*/true);
      CheckPattern(r, r.id, slot.ptr, slot.size, slot.size);
      p = slot.ptr;
      new_align = slot.new_align;
      slot.freed = true;
    }
    switch (r.op) {
      case Op::kFree:
        return allocator_.Free(p);
      case Op::kFreeSized:
        return allocator_.FreeSized(p, r.size);
      case Op::kDelete:
        return allocator_.Delete(p, new_align);
      default:
        return allocator_.DeleteSized(p, r.size, new_align);
    }
  }

  void Use(const Record& r) {
    if (r.id == 0) {
      (void)allocator_.UsableSize(nullptr);
      return;
    }
    Slot& slot = Acquire(r, r.id, /*frees=*/false);
    if (slot.ptr != nullptr) {
      const std::size_t usable = allocator_.UsableSize(slot.ptr);
      if (usable < slot.size) {
        shared_.errors.Add(shared_.errors.usable_size,
                           "replay: offset %llu: id %llu: usable size %zu "
                           "below its %zu bytes\n",
                           static_cast<ull>(r.offset), static_cast<ull>(r.id),
                           usable, slot.size);
      }
    }
    // The free that waits counts only the other threads' uses.
    if (shared_.plan.ids[r.id].freer != thread_ + 1) {
      slot.uses_left.fetch_sub(1, std::memory_order_release);
    }
  }

  // Waits until `done()`: spins briefly, then yields, then sleeps, so that
  // a thread waiting long takes no CPU from the one it waits for. When no
  // thread has replayed a record for kWatchdogSeconds, the trace cannot be
  // replayed (its threads wait on each other): exits naming the record.
  template <typename Done>
  void WaitUntil(const Record& r, std::uint64_t id, const char* what,
                 Done done) {
    using Clock = std::chrono::steady_clock;
    Clock::time_point since;
    std::uint64_t seen = 0;
    for (unsigned spins = 0; !done(); ++spins) {
      if (spins < 64) continue;
      if (spins < 1024) {
        std::this_thread::yield();
        continue;
      }
      // 50 us at first; after some 10 ms, 1 ms, so that a thread stuck
      // until the watchdog fires costs little.
      std::this_thread::sleep_for(
          std::chrono::microseconds(spins < 1224 ? 50 : 1000));
      if (const std::uint64_t now = RecordsReplayed();
          spins == 1024 || now != seen) {
        seen = now;
        since = Clock::now();
      } else if (Clock::now() - since >
                 std::chrono::seconds(kWatchdogSeconds)) {
        std::fprintf(stderr,
                     "replay: offset %llu: waited over %d s for id %llu %s, "
                     "with no thread replaying\n",
                     static_cast<ull>(r.offset), kWatchdogSeconds,
                     static_cast<ull>(id), what);
        std::_Exit(3);
      }
    }
  }

  std::uint64_t RecordsReplayed() const {
    std::uint64_t sum = 0;
    for (const Progress& thread : shared_.progress) {
      sum += thread.records.load(std::memory_order_relaxed);
    }
    return sum;
  }

  // Block `id`'s slot once it is allocated, and, for a record that frees
  // it, once the other threads' uses are done.
  Slot& Acquire(const Record& r, std::uint64_t id, bool frees) {
    Slot& slot = shared_.slots[id];
    WaitUntil(r, id, "to be allocated",
              [&] { return slot.ready.load(std::memory_order_acquire); });
    if (frees) {
      WaitUntil(r, id, "to be used by other threads", [&] {
        return slot.uses_left.load(std::memory_order_acquire) == 0;
      });
    }
    return slot;
  }

  // Checks block `id`'s pattern at the sampled positions below `limit` of
  // `p`, `size` bytes.
  void CheckPattern(const Record& r, std::uint64_t id, const void* p,
                    std::size_t size, std::size_t limit) {
    if (p == nullptr) return;
    const std::size_t wrong = PatternMismatches(p, size, limit, id);
    if (wrong == 0) return;
    shared_.errors.Add(shared_.errors.pattern,
                       "replay: offset %llu: id %llu: %zu sampled bytes lost "
                       "the block's pattern\n",
                       static_cast<ull>(r.offset), static_cast<ull>(id), wrong);
  }

  Shared& shared_;
  Allocator& allocator_;
  const std::uint32_t thread_;
};

}  // namespace

void ReplayThread(Shared& shared, std::uint32_t thread,
                  const std::vector<Record>& records) {
  ThreadReplayer(shared, thread).Run(records);
}

}  // namespace rusty_malloc::replay

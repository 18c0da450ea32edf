#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/misuse.h"
#include "allocator/common/spin_lock.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/free_block.h"
#include "allocator/per_thread/page.h"
#include "allocator/per_thread/page_queue.h"
#include "allocator/per_thread/remote_free.h"
#include "allocator/per_thread/retained_budget.h"
#include "allocator/per_thread/sample_countdown.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/tls_slot.h"

namespace rusty_malloc {

// Which empty pages CollectAll retires: those behind their queue's front,
// or every one, with an empty last chunk too.
enum class Collect { kBehindFronts, kEverything };

// One thread's heap for small sizes: per size class, a queue of pages of
// that class, the page at the front serving allocations. Everything here is
// touched by the owning thread only, except FreeRemote, which any thread may
// call and which only pushes onto a page's atomic thread_free list; the owner
// takes that list over when it runs out of free blocks. A thread with a heap
// frees other heaps' blocks through it (FreeRemoteBatched): runs of frees
// into one page go over in one push.
template <ChunkSource S>
class ThreadHeap {
 public:
  explicit ThreadHeap(S* source)
      : source_(source), key_(FirstUse()), tag_(NewTag()) {}
  ThreadHeap(const ThreadHeap&) = delete;
  ThreadHeap& operator=(const ThreadHeap&) = delete;

  // A block of class `cls`, or nullptr when the source has no chunk left.
  [[nodiscard]] ABSL_ATTRIBUTE_ALWAYS_INLINE void* Allocate(int cls) {
    if (void* block = TryAllocateFast(cls)) return block;
    return AllocateSlow(cls);
  }
  // Allocate's slow path: TryAllocateFast found no block ready.
  ABSL_ATTRIBUTE_NOINLINE void* AllocateSlow(int cls)
      ABSL_LOCKS_EXCLUDED(pages_lock_);
  // Allocate's slow path with the sampler on (mean_bytes 0: AllocateSlow):
  // a block, or nullptr with `*sample_interval` set (the mean the sample was
  // drawn from) when this allocation is the sampled one, which the caller
  // serves elsewhere, then calls PaceSampling. Counts the bytes it hands the
  // fast path (the block and the front free list, cut short at the sample
  // point), so the fast paths cost nothing more; blocks freed and reused on
  // this thread before the list runs out go uncounted.
  [[nodiscard]] void* AllocateSlowSampling(int cls, std::size_t mean_bytes,
                                           std::size_t* sample_interval)
      ABSL_LOCKS_EXCLUDED(pages_lock_);
  // Charges a sample to the pacing (SampleCountdown::Pace), then starts the
  // next interval as it decided; ChargeSampling, work for samples done on
  // the side (a guarded block's free), to the next one. Owner only.
  void PaceSampling(std::int64_t now_ns, std::int64_t cost_ns,
                    std::uint32_t share, std::size_t mean_bytes);
  void ChargeSampling(std::int64_t ns) { countdown_.Charge(ns); }
  // Allocate's fast path alone: a pop from the front page's free list, no
  // lock, no atomic operation; nullptr (and nothing done) when it takes
  // more than that.
  [[nodiscard]] ABSL_ATTRIBUTE_ALWAYS_INLINE void* TryAllocateFast(int cls) {
    PageInfo* page = queues_[cls].front();
    void* block = page->free;
    if (ABSL_PREDICT_FALSE(block == nullptr)) return nullptr;
    void* next = per_thread_internal::NextOf(block, key_);
    // A link within the block's own page is the common case; the end of the
    // list, a span's other pages and a corrupted link are for the slow path.
    if (ABSL_PREDICT_FALSE(((reinterpret_cast<std::uintptr_t>(next) ^
                             reinterpret_cast<std::uintptr_t>(block)) >>
                            kPageShift) != 0)) {
      return nullptr;
    }
    page->free = next;
    OwnerAdd(page->used, 1);
    per_thread_internal::ClearLink(block);
    return block;
  }

  // Frees `block` of `page`, a page of the calling thread's own heap.
  ABSL_ATTRIBUTE_ALWAYS_INLINE static void FreeLocal(PageInfo* page,
                                                     void* block) noexcept {
    FreeLocal(page, block, reinterpret_cast<std::uintptr_t>(page->start),
              page->linked_bytes.load(std::memory_order_relaxed),
              per_thread_internal::LinkKey());
  }
  // The same, with the page's start and linked_bytes already loaded, and
  // LinkKey() as `key`. Static, so that the heap is loaded (from the chunk)
  // only on the rare paths.
  ABSL_ATTRIBUTE_ALWAYS_INLINE static void FreeLocal(
      PageInfo* page, void* block, std::uintptr_t start, std::uint32_t linked,
      std::uintptr_t key) noexcept {
    // A link to the end of a list or to a block of the page: already free.
    const std::uintptr_t old = reinterpret_cast<std::uintptr_t>(
        per_thread_internal::NextOf(block, key));
    if (ABSL_PREDICT_FALSE(old - start < linked || old == 0)) {
      ReportDoubleFree(block);
    }
    void* head = page->free;
    per_thread_internal::SetNext(block, head, key);
    page->free = block;
    if (ABSL_PREDICT_FALSE(head == nullptr)) {
      return HeapOf(page)->PageRefilled(page);
    }
    // Never the front page: its kFrontBias keeps `used` above zero.
    if (ABSL_PREDICT_FALSE(OwnerAdd(page->used, -1u))) {
      return HeapOf(page)->PageEmptied();
    }
  }

  // Unique for the process's life (ChunkHeader::owner_tag).
  std::uint64_t tag() const { return tag_; }

  // Frees `block` of `page`, a page of another heap, at once; any thread.
  ABSL_ATTRIBUTE_NOINLINE static void FreeRemote(PageInfo* page,
                                                 void* block) noexcept;
  // FreeRemote, on the owning thread of this heap, batched (RemoteBatches).
  // Checked for a double free as FreeRemote checks: a chain's blocks link
  // within their page, so a block freed twice while it waits looks free.
  ABSL_ATTRIBUTE_NOINLINE void FreeRemoteBatched(PageInfo* page,
                                                 void* block) noexcept;
  // Hands every waiting chain over (RemoteBatches::Flush); on the owning
  // thread.
  void FlushRemote() { remote_.Flush(key_); }

  // For a heap another thread takes over: what was freed into it meanwhile
  // is taken back before it next grows (NewPage), not by a walk now.
  void TakeOver() { empty_pages_kept_ = true; }
  // Takes over every remote free and retires pages left empty, before the
  // heap takes a new chunk and on purges; `scope` says which.
  void CollectAll(Collect scope = Collect::kBehindFronts)
      ABSL_LOCKS_EXCLUDED(pages_lock_) {
    SpinLockHolder hold(&pages_lock_);
    CollectAllLocked(scope);
  }
  // Retires every empty page, fronts and an empty last chunk included, and
  // gives the memory of every page not in use, and of the source's released
  // chunks, back to the OS now (where the source can decommit).
  void Purge() ABSL_LOCKS_EXCLUDED(pages_lock_) {
    SpinLockHolder hold(&pages_lock_);
    PurgeLocked();
  }
  // Purge, once the purge delay has passed since a page was left unused,
  // and at most once per kMinHousekeepingIntervalNs.
  void PurgeIfDue(std::int64_t now) ABSL_LOCKS_EXCLUDED(pages_lock_) {
    if (PurgeDue(now)) Purge();
  }
  // For any thread, on a heap whose owner ran no allocation slow path since
  // the last call (idle: blocked, done allocating, or gone): takes out of
  // use, and decommits where the source can, every page with no block in
  // use but the fronts of its queues; the chunks stay. Nothing while the
  // owner is in a slow path. Returns the bytes taken out of use.
  std::size_t ReclaimIfIdle() ABSL_LOCKS_EXCLUDED(pages_lock_);
  // Purges done so far, for tests.
  std::uint64_t purges() const { return purges_; }
  // For the owner of heaps no thread uses: `purge_others(owner)` runs at
  // most once per purge delay, from a slow path of this heap, and
  // `reclaim_others(owner)` before it takes a chunk (the process grows).
  void set_purge_others(void (*purge_others)(void*)) {
    purge_others_ = purge_others;
  }
  void set_reclaim_others(void (*reclaim_others)(void*)) {
    reclaim_others_ = reclaim_others;
  }
  // The budget, shared by the allocator's heaps, for retired pages kept
  // committed; before the first chunk. Without one, retired pages wait the
  // purge delay however many there are.
  void set_budget(RetainedBudget* budget) { budget_ = budget; }

  // The first broken invariant of this heap's chunks, pages and queues. Only
  // while no thread allocates or frees in it.
  [[nodiscard]] HeapReport Verify() const;
  // Adds this heap's chunks and blocks to `stats`. Any thread, at any time:
  // see AddChunkStats for what it reads.
  void AddStats(HeapStats& stats) const ABSL_LOCKS_EXCLUDED(chunks_lock_);

  ChunkHeader* chunks() const { return chunks_; }

  // The thread binding this heap belongs to, and its links in that
  // binding's registries; the binding's lock guards the links.
  void* owner = nullptr;
  ThreadHeap* registry_next = nullptr;
  ThreadHeap* abandoned_next = nullptr;
  bool abandoned = false;
  std::int64_t abandoned_ns = 0;  // When, for a heap abandoned.

 private:
  // AllocateSlowSampling's rare parts, out of its way.
  ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void RestartCountdown(
      std::size_t mean_bytes);
  ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void CutAtSamplePoint(
      PageInfo* page, std::int64_t size);
  // How many full pages a slow path looks at before taking a new page.
  static constexpr int kScanLimit = 8;

  PageQueue& QueueOf(const PageInfo* page) { return queues_[page->size_class]; }
  static ThreadHeap* HeapOf(const PageInfo* page) {
    return static_cast<ThreadHeap*>(ChunkOf(page)->heap);
  }
  ABSL_ATTRIBUTE_NOINLINE void CollectAllLocked(Collect scope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  ABSL_ATTRIBUTE_NOINLINE void PurgeLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // Whether PurgeIfDue purges now; counts it done if so.
  bool PurgeDue(std::int64_t now);
  std::uint64_t TakeIfFree(ChunkHeader* chunk, int index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  static std::uintptr_t FirstUse();
  static std::uint64_t NewTag();
  // Pops the first block of `page`, which has one, with its link checked.
  void* PopChecked(PageInfo* page);
  ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_NORETURN static void ReportDoubleFree(
      void* block);
  // FreeLocal's rarer cases (the definitions say what they do and why).
  ABSL_ATTRIBUTE_NOINLINE void PageRefilled(PageInfo* page) noexcept
      ABSL_LOCKS_EXCLUDED(pages_lock_);
  ABSL_ATTRIBUTE_NOINLINE void PageEmptied() noexcept;
  PageInfo* NewPage(int cls) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // Runs `others(owner)`, which takes the binding's lock and then other
  // heaps' pages_lock_, with this heap's released: the locks are taken in
  // that order only. Meanwhile a reclaim may take this heap's free pages,
  // so the caller holds none of its pages across the call.
  void CallOthers(void (*others)(void*))
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // The first chunk with `pages` consecutive pages unused, and where.
  ChunkHeader* FirstChunkWithRoom(int pages, int* index) const;
  // Takes `page` out of use; true when that released its chunk to the
  // source, after which nothing in the chunk may be touched. The heap's last
  // chunk stays, unless `scope` is kEverything.
  ABSL_ATTRIBUTE_NOINLINE bool RetirePage(PageInfo* page, Collect scope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // Unlinks `chunk`, with no page in use, and gives it back to the source.
  void ReleaseChunk(ChunkHeader* chunk)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // Whether the pages of `run` (a chunk's page mask), just retired, may
  // stay committed: counted against the budget when they may.
  bool Retain(std::uint64_t run);
  // The pages of `dirty` (a chunk's page mask), retained until now, are in
  // use again, decommitted or leaving with their chunk.
  void Unretain(std::uint64_t dirty);
  // Gives the memory of `chunk`'s pages in `run` (a page mask) back to the
  // OS, where the source can.
  void Decommit(ChunkHeader* chunk, std::uint64_t run);

  S* source_;
  const std::uintptr_t key_;  // LinkKey(), at hand.
  RemoteBatches remote_;      // This thread's frees into other heaps.
  const std::uint64_t tag_;
  PageQueue queues_[kSizeClasses];
  // The owner links and unlinks chunks under chunks_lock_, and reads the
  // list without it; AddStats walks it under the lock from any thread, so
  // no chunk leaves the list while statistics read it. Taken only when the
  // heap gains or loses a chunk.
  mutable SpinLock chunks_lock_;
  // Held by the owner on every path that changes its queues' links, its
  // pages' use or its chunks (all but the fast paths, which touch only the
  // fronts of its queues and pages holding its blocks), and by a thread
  // reclaiming the heap's pages while it is idle (ReclaimIfIdle), which only
  // tries it. Uncontended but for that. Taken before chunks_lock_.
  SpinLock pages_lock_;
  // Allocation slow paths run, under pages_lock_; as ReclaimIfIdle last
  // saw it.
  std::uint64_t slow_calls_ = 0;
  std::uint64_t slow_calls_seen_ = 0;
  ChunkHeader* chunks_ = nullptr;
  std::size_t chunk_count_ = 0;
  std::size_t next_collect_at_ = 0;  // NewPage's next CollectAll, in chunks.
  // Pages may have been left empty (or emptied by other threads, for a heap
  // taken over) since the last CollectAll: NewPage retires them before it
  // takes a page elsewhere.
  bool empty_pages_kept_ = false;
  // When pages left unused go back to the OS; 0 while none wait.
  std::int64_t purge_due_ns_ = 0;
  std::int64_t last_purge_ns_ = 0;  // PurgeIfDue's last purge.
  std::uint64_t purges_ = 0;
  void (*purge_others_)(void*) = nullptr;
  std::int64_t next_purge_others_ns_ = 0;
  RetainedBudget* budget_ = nullptr;
  void (*reclaim_others_)(void*) = nullptr;
  // The free list held back from a front page at the sample point, put back
  // before anything moves pages (mutable: Verify puts it back too).
  mutable PageInfo* held_page_ = nullptr;
  mutable void* held_head_ = nullptr;
  // Seeded by the address too (ASLR): by tag_ alone, every run samples alike.
  SampleCountdown countdown_{tag_ ^ reinterpret_cast<std::uintptr_t>(this)};
  void PutBackHeld() const;
};

}  // namespace rusty_malloc

// The members defined out of the class, by concern.
#include "allocator/per_thread/thread_heap_alloc.h"    // IWYU pragma: export
#include "allocator/per_thread/thread_heap_release.h"  // IWYU pragma: export
#include "allocator/per_thread/thread_heap_sample.h"   // IWYU pragma: export
#include "allocator/per_thread/thread_heap_verify.h"   // IWYU pragma: export

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_

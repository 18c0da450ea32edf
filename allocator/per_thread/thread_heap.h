#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "allocator/common/check.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/misuse.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/spin_lock.h"
#include "allocator/common/tunables.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/free_block.h"
#include "allocator/per_thread/page.h"
#include "allocator/per_thread/page_queue.h"
#include "allocator/per_thread/retained_budget.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/tls_slot.h"

namespace rusty_malloc {

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
                                                 void* block) noexcept {
    const std::uintptr_t key = per_thread_internal::LinkKey();
    if (ABSL_PREDICT_FALSE(LooksFree(*page, block, key)))
      ReportDoubleFree(block);
    if (Planted(PlantedBug::kRemoteFreeOnLocalList)) {
      per_thread_internal::SetNext(block, page->free, key);
      page->free = block;
      return;
    }
    per_thread_internal::SetNext(block, nullptr, key);
    PushRemote(page, block, block, 1, key);
  }
  // FreeRemote, on the owning thread of this heap, batched: the block joins
  // a chain of blocks freed into the same page, which goes over in one push
  // when it holds kRemoteBatchMax blocks, when a free into another page
  // needs its place among the kRemoteBatches chains, or at FlushRemote.
  // Checked for a double free as FreeRemote checks: a chain's blocks link
  // within their page, so a block freed twice while it waits looks free.
  ABSL_ATTRIBUTE_NOINLINE void FreeRemoteBatched(PageInfo* page,
                                                 void* block) noexcept;
  // Hands every waiting chain over. On the owning thread: its allocation
  // slow path, purges, statistics and trims run it, its exit too, and every
  // kRemoteFlushEvery batched frees, so a block waits that long at most
  // while its thread frees, and until the thread next allocates beyond its
  // pages or exits when it stops.
  void FlushRemote() {
    if (remote_waiting_ != 0) FlushRemoteSlow();
  }

  // For a heap another thread takes over: what was freed into it meanwhile
  // is taken back before it next grows (NewPage), not by a walk now.
  void TakeOver() { empty_pages_kept_ = true; }
  // Takes over every remote free and retires pages left empty, before the
  // heap takes a new chunk and on purges. With `everything`, empty pages at
  // their queue's front and an empty last chunk go too.
  void CollectAll(bool everything = false) ABSL_LOCKS_EXCLUDED(pages_lock_) {
    SpinLockHolder hold(&pages_lock_);
    CollectAllLocked(everything);
  }
  // Retires every empty page (those at their queue's front and an empty
  // last chunk too) and gives the memory of every page not in use, and of
  // the source's released chunks, back to the OS now (where the source can
  // decommit).
  void Purge() ABSL_LOCKS_EXCLUDED(pages_lock_) {
    SpinLockHolder hold(&pages_lock_);
    PurgeLocked();
  }
  // Purge, once the purge delay has passed since a page was left unused,
  // and at most once per kMinHousekeepingIntervalNs: a purge walks every
  // page, and with a delay of 0 every new page after an emptied one would
  // otherwise walk the whole heap (a 512 MiB heap took 2.5 times as long).
  void PurgeIfDue(std::int64_t now) ABSL_LOCKS_EXCLUDED(pages_lock_) {
    if (PurgeDue(now)) Purge();
  }
  // For any thread, on a heap whose owner has run no allocation slow path
  // since the last call (an idle heap: its thread blocked, done
  // allocating, or gone): takes out of use every page with no block in use
  // but those serving the owner's fast path (the fronts of its queues), and
  // gives their memory back to the OS where the source can. A thread's
  // blocks freed by others otherwise stay resident until it allocates
  // again. Pages of a chunk only: the chunk stays the heap's. Does nothing
  // while the owner is in a slow path. Returns the bytes taken out of use.
  std::size_t ReclaimIfIdle() ABSL_LOCKS_EXCLUDED(pages_lock_);
  // Purges done so far, for tests.
  std::uint64_t purges() const { return purges_; }
  // For the owner of heaps no thread uses: `purge_others(owner)` runs at
  // most once per purge delay, from a slow path of this heap.
  void set_purge_others(void (*purge_others)(void*)) {
    purge_others_ = purge_others;
  }
  // For the same owner: `reclaim_others(owner)` runs before this heap takes
  // a chunk from the source (the process grows), to reclaim idle heaps.
  void set_reclaim_others(void (*reclaim_others)(void*)) {
    reclaim_others_ = reclaim_others;
  }
  // The process-wide budget for pages this heap retires and keeps
  // committed, shared with the other heaps of its allocator; before the
  // heap takes its first chunk. Without one, retired pages wait the purge
  // delay however many there are.
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
  // How many full pages a slow path looks at before taking a new page.
  static constexpr int kScanLimit = 8;

  PageQueue& QueueOf(const PageInfo* page) { return queues_[page->size_class]; }
  static ThreadHeap* HeapOf(const PageInfo* page) {
    return static_cast<ThreadHeap*>(ChunkOf(page)->heap);
  }
  ABSL_ATTRIBUTE_NOINLINE void* AllocateSlow(int cls)
      ABSL_LOCKS_EXCLUDED(pages_lock_);
  ABSL_ATTRIBUTE_NOINLINE void CollectAllLocked(bool everything)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  ABSL_ATTRIBUTE_NOINLINE void PurgeLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // Whether PurgeIfDue purges now; counts it done if so.
  bool PurgeDue(std::int64_t now) {
    if (purge_due_ns_ != 0 && now >= purge_due_ns_ &&
        now - last_purge_ns_ >= kMinHousekeepingIntervalNs) {
      last_purge_ns_ = now;
      return true;
    }
    return false;
  }
  // ReclaimIfIdle's test of one page in use, `index` of `chunk`: takes the
  // page out of use and returns its run of pages when every block in use
  // is on its remote list, else 0. Only such a page is safe to take while
  // the owner runs its fast path: the owner holds none of its blocks and
  // does not allocate from it, and its fields that the fast path writes
  // (free, used) it does not touch.
  std::uint64_t TakeIfFree(ChunkHeader* chunk, int index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  static std::uintptr_t FirstUse() {
    per_thread_internal::InitLinkKey();
    return per_thread_internal::LinkKey();
  }
  static std::uint64_t NewTag() {
    static constinit std::atomic<std::uint64_t> last{0};
    return last.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  // Pops the first block of `page`, which has one, with its link checked.
  void* PopChecked(PageInfo* page);
  // Pushes the chain `head`..`tail` (`count` blocks of `page`, `tail`'s link
  // to be set) onto the page's remote list with one atomic operation.
  static void PushRemote(PageInfo* page, void* head, void* tail,
                         std::uint32_t count, std::uintptr_t key) {
    // Counted before it is pushed, so the owner, which subtracts what it
    // takes off the list, never takes the count below zero.
    page->remote_count.fetch_add(count, std::memory_order_relaxed);
    LinkRemote(page, head, tail, key);
  }
  // Links the chain `head`..`tail`, already counted in the page's
  // remote_count, onto its remote list with one atomic operation.
  static void LinkRemote(PageInfo* page, void* head, void* tail,
                         std::uintptr_t key) {
    void* old = page->thread_free.load(std::memory_order_relaxed);
    do {
      per_thread_internal::SetNext(tail, old, key);
    } while (!page->thread_free.compare_exchange_weak(
        old, head, std::memory_order_release, std::memory_order_relaxed));
  }
  ABSL_ATTRIBUTE_NOINLINE void FlushRemoteSlow() noexcept;
  ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_NORETURN static void ReportDoubleFree(
      void* block) {
    ReportMisuse("double free, or use of a freed block", block);
  }
  // FreeLocal's rarer cases. A page that was full (its count not yet
  // lowered for the block freed) goes behind its queue's front, for the next
  // slow path to find. An emptied page behind the front stays in its queue for
  // reuse (a program that frees a batch tends to allocate the same sizes
  // again); the next purge, or a NewPage that finds no room, retires the empty
  // pages.
  ABSL_ATTRIBUTE_NOINLINE void PageRefilled(PageInfo* page) noexcept
      ABSL_LOCKS_EXCLUDED(pages_lock_);
  ABSL_ATTRIBUTE_NOINLINE void PageEmptied() noexcept;
  PageInfo* NewPage(int cls) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // Runs `others(owner)`, which takes the binding's lock and then other
  // heaps' pages_lock_, with this heap's released: the locks are taken in
  // that order only. Meanwhile a reclaim may take this heap's free pages,
  // so the caller holds none of its pages across the call.
  void CallOthers(void (*others)(void*))
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_) {
    pages_lock_.Unlock();
    others(owner);
    pages_lock_.Lock();
  }
  // The first chunk with `pages` consecutive pages unused, and where.
  ChunkHeader* FirstChunkWithRoom(int pages, int* index) const {
    ChunkHeader* chunk = chunks_;
    while (chunk != nullptr &&
           (*index = FindUnusedRun(chunk->used_pages, pages)) < 0) {
      chunk = chunk->next;
    }
    return chunk;
  }
  // Takes `page` out of use; true when that released its chunk to the
  // source, after which nothing in the chunk may be touched. The heap's last
  // chunk stays, unless `release_last`.
  ABSL_ATTRIBUTE_NOINLINE bool RetirePage(PageInfo* page,
                                          bool release_last = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // Unlinks `chunk`, with no page in use, and gives it back to the source.
  void ReleaseChunk(ChunkHeader* chunk)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(pages_lock_);
  // Whether the pages of `run` (a chunk's page mask), just retired, may
  // stay committed: counted against the budget when they may.
  bool Retain(std::uint64_t run) {
    if constexpr (requires(void* p) { source_->Decommit(p, kPageSize); }) {
      return budget_ == nullptr ||
             budget_->TryRetain(std::popcount(run) * kPageSize);
    }
    return true;  // A source that cannot decommit keeps them anyway.
  }
  // The pages of `dirty` (a chunk's page mask), retained until now, are in
  // use again, decommitted or leaving with their chunk.
  void Unretain(std::uint64_t dirty) {
    if (budget_ != nullptr && dirty != 0) {
      if constexpr (requires(void* p) { source_->Decommit(p, kPageSize); }) {
        budget_->Release(std::popcount(dirty) * kPageSize);
      }
    }
  }
  // Gives the memory of `chunk`'s pages in `run` (a page mask) back to the
  // OS, where the source can.
  void Decommit(ChunkHeader* chunk, std::uint64_t run) {
    if constexpr (requires(void* p) { source_->Decommit(p, kPageSize); }) {
      while (run != 0) {
        const int first = std::countr_zero(run);
        const int pages = std::countr_one(run >> first);
        source_->Decommit(
            reinterpret_cast<std::byte*>(chunk) + first * kPageSize,
            pages * kPageSize);
        run &= ~PageRunMask(first, pages);
      }
    }
  }

  // Chains of blocks this heap's thread freed into other heaps' pages,
  // waiting to go over (FreeRemoteBatched); a page's chain has one place,
  // by the page's address.
  struct RemoteBatch {
    PageInfo* page = nullptr;  // nullptr: the place is free.
    void* head = nullptr;
    void* tail = nullptr;
    std::uint32_t count = 0;
  };
  static constexpr int kRemoteBatches = 8;
  static constexpr std::uint32_t kRemoteBatchMax = 64;
  static constexpr std::uint32_t kRemoteFlushEvery = 1024;
  void PushBatch(RemoteBatch& batch) {
    PushRemote(batch.page, batch.head, batch.tail, batch.count, key_);
    batch = {};
  }

  S* source_;
  const std::uintptr_t key_;  // LinkKey(), at hand.
  RemoteBatch remote_[kRemoteBatches];
  // Batched frees since the last FlushRemote; 0 when no chain waits.
  std::uint32_t remote_waiting_ = 0;
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
};

template <ChunkSource S>
void ThreadHeap<S>::FreeRemoteBatched(PageInfo* page, void* block) noexcept {
  if (ABSL_PREDICT_FALSE(LooksFree(*page, block, key_))) {
    ReportDoubleFree(block);
  }
  if (Planted(PlantedBug::kRemoteFreeOnLocalList))
    return FreeRemote(page, block);
  RemoteBatch& batch = remote_[reinterpret_cast<std::uintptr_t>(page) /
                               sizeof(PageInfo) % kRemoteBatches];
  if (batch.page == page) {
    per_thread_internal::SetNext(block, batch.head, key_);
    batch.head = block;
  } else {
    if (batch.page != nullptr) PushBatch(batch);
    per_thread_internal::SetNext(block, nullptr, key_);
    batch = {page, block, block, 0};
  }
  if (++batch.count == kRemoteBatchMax) PushBatch(batch);
  if (++remote_waiting_ == kRemoteFlushEvery) FlushRemoteSlow();
}

template <ChunkSource S>
void ThreadHeap<S>::FlushRemoteSlow() noexcept {
  for (RemoteBatch& batch : remote_) {
    if (batch.page != nullptr) PushBatch(batch);
  }
  remote_waiting_ = 0;
}

template <ChunkSource S>
void* ThreadHeap<S>::AllocateSlow(int cls) {
  FlushRemote();
  PageQueue& queue = queues_[cls];
  PageInfo* page = queue.head();
  // What TryAllocateFast leaves: the end of a list, a link out of the page.
  // The front page is the owner's alone, so this needs no lock.
  if (page != nullptr && page->free != nullptr) return PopChecked(page);
  SpinLockHolder hold(&pages_lock_);
  ++slow_calls_;
  // Blocks already freed, on the pages scanned, come before untouched
  // memory on any of them: a page linking fresh blocks while blocks freed by
  // other threads wait on the pages behind it grows the heap's resident
  // memory by what those hold (larson at 16 threads: peak RSS 46 MiB to 41
  // in the median of five runs).
  PageInfo* fresh = nullptr;  // The first page scanned with untouched room.
  for (int scanned = 0; page != nullptr && scanned < kScanLimit; ++scanned) {
    PageInfo* next = page->next;
    CollectRemoteFrees(page);
    if (page->free != nullptr) {
      if (page != queue.head()) {
        queue.Unlink(page);
        queue.PushFront(page);
      }
      return PopChecked(page);
    }
    if (fresh == nullptr && HasFreshRoom(*page)) {
      fresh = page;
    } else if (next != nullptr) {
      // Full: to the back, so that later scans reach the pages behind it.
      queue.Unlink(page);
      queue.PushBack(page);
    }
    page = next;
  }
  if (fresh != nullptr) {
    LinkFreshBlocks(fresh);
    if (fresh != queue.head()) {
      queue.Unlink(fresh);
      queue.PushFront(fresh);
    }
    return PopChecked(fresh);
  }
  page = NewPage(cls);
  if (page == nullptr) return nullptr;
  queue.PushFront(page);
  return PopChecked(page);
}

template <ChunkSource S>
void* ThreadHeap<S>::PopChecked(PageInfo* page) {
  void* block = page->free;
  void* next = per_thread_internal::NextOf(block, key_);
  if (next != nullptr && !OnBlockBoundary(*page, next)) {
    ReportCorruptFreeList(block);
  }
  page->free = next;
  OwnerAdd(page->used, 1);
  per_thread_internal::ClearLink(block);
  return block;
}

template <ChunkSource S>
void ThreadHeap<S>::PageRefilled(PageInfo* page) noexcept {
  SpinLockHolder hold(&pages_lock_);
  const bool emptied = OwnerAdd(page->used, -1u);
  PageQueue& queue = QueueOf(page);
  if (page == queue.head()) return;
  if (emptied) PageEmptied();
  queue.MoveBehindHead(page);
}

template <ChunkSource S>
void ThreadHeap<S>::PageEmptied() noexcept {
  empty_pages_kept_ = true;
  if (purge_due_ns_ == 0) purge_due_ns_ = CoarseNowNs() + PurgeDelayNs();
}

template <ChunkSource S>
PageInfo* ThreadHeap<S>::NewPage(int cls) {
  const std::int64_t now = CoarseNowNs();
  if (PurgeDue(now)) PurgeLocked();
  if (purge_others_ != nullptr && now >= next_purge_others_ns_) {
    next_purge_others_ns_ = now + HousekeepingIntervalNs();
    CallOthers(purge_others_);
  }
  const int pages = SpanPagesOf(cls);
  int index = 0;
  ChunkHeader* chunk = FirstChunkWithRoom(pages, &index);
  if (chunk == nullptr && chunks_ != nullptr &&
      (empty_pages_kept_ || chunk_count_ >= next_collect_at_)) {
    // Before taking memory from the source, take back what other threads
    // freed: pages they emptied, of classes this thread no longer asks
    // for, would otherwise be held until it did (or exited). A collection
    // walks every page, so it runs at most once per quarter of growth:
    // linear in the heap's size overall, not quadratic.
    CollectAllLocked(false);
    next_collect_at_ = chunk_count_ + chunk_count_ / 4 + 1;
    chunk = FirstChunkWithRoom(pages, &index);
  }
  if (chunk == nullptr) {
    // The process grows: first, what idle heaps hold goes back.
    if (reclaim_others_ != nullptr) CallOthers(reclaim_others_);
    void* memory = source_->AllocateChunk();
    if (memory == nullptr) return nullptr;
    chunk = new (memory) ChunkHeader();
    chunk->heap = this;
    chunk->owner_tag = tag_;
    chunk->next = chunks_;
    {
      SpinLockHolder hold(&chunks_lock_);
      chunks_ = chunk;
    }
    ++chunk_count_;
    index = 1;  // Page 0 holds the header.
  }
  PageInfo* page = &chunk->pages[index];
  StartPage(page, reinterpret_cast<std::byte*>(chunk) + index * kPageSize, cls);
  chunk->used_pages |= PageRunMask(index, pages);
  Unretain(chunk->dirty_unused & PageRunMask(index, pages));
  chunk->dirty_unused &= ~PageRunMask(index, pages);
  return page;
}

template <ChunkSource S>
bool ThreadHeap<S>::RetirePage(PageInfo* page, bool release_last) {
  if (!Planted(PlantedBug::kRetiredPageLeftQueued)) QueueOf(page).Unlink(page);
  ChunkHeader* chunk = ChunkOf(page->start);
  const std::uint64_t run =
      PageRunMask(static_cast<int>(page - chunk->pages), page->span_pages);
  chunk->used_pages &= ~run;
  StopPage(page);
  constexpr int kLeft = Planted(PlantedBug::kChunkReleasedInUse) ? 1 : 0;
  // An empty chunk goes back to the source (and its memory to the OS),
  // unless it is the heap's only one: keep that for the next allocation.
  if (std::popcount(chunk->used_pages) - 1 > kLeft ||
      (chunks_ == chunk && chunk->next == nullptr && !release_last)) {
    // The page's memory stays for reuse until the purge delay is over, if
    // the budget allows.
    if (Retain(run)) {
      chunk->dirty_unused |= run;
      if (purge_due_ns_ == 0) purge_due_ns_ = CoarseNowNs() + PurgeDelayNs();
    } else {
      Decommit(chunk, run);
    }
    return false;
  }
  ReleaseChunk(chunk);
  return true;
}

template <ChunkSource S>
void ThreadHeap<S>::ReleaseChunk(ChunkHeader* chunk) {
  RUSTY_MALLOC_DCHECK(chunk->used_pages == 1 && chunk->heap == this, chunk);
  {
    SpinLockHolder hold(&chunks_lock_);
    ChunkHeader** link = &chunks_;
    while (*link != chunk) link = &(*link)->next;
    *link = chunk->next;
  }
  --chunk_count_;
  Unretain(chunk->dirty_unused);
  per_thread_internal::ForgetLocalChunk(chunk);
  chunk->~ChunkHeader();
  source_->ReleaseChunk(chunk);
}

template <ChunkSource S>
void ThreadHeap<S>::CollectAllLocked(bool everything) {
  empty_pages_kept_ = false;
  for (ChunkHeader* chunk = chunks_; chunk != nullptr;) {
    ChunkHeader* next = chunk->next;
    // A chunk with no page to retire (an idle heap's pages reclaimed, or an
    // empty last chunk) goes here, unless it is the heap's only one.
    if (chunk->used_pages == 1 &&
        (everything || chunks_ != chunk || chunk->next != nullptr)) {
      ReleaseChunk(chunk);
      chunk = next;
      continue;
    }
    for (int i = 1; i < kPagesPerChunk; ++i) {
      PageInfo* page = &chunk->pages[i];
      if (page->size_class < 0) continue;
      CollectRemoteFrees(page);
      // Retiring the chunk's last page in use releases the chunk, and with
      // it the page array this loop walks: stop there.
      if (InUse(page->used) == 0 &&
          (everything || page != QueueOf(page).head()) &&
          RetirePage(page, everything) &&
          !Planted(PlantedBug::kCollectAllWalksReleasedChunk)) {
        break;
      }
    }
    chunk = next;
  }
}

template <ChunkSource S>
void ThreadHeap<S>::PurgeLocked() {
  // Pages kept empty this long, at their queue's front or not, are not
  // coming back into use soon.
  ++purges_;
  FlushRemote();
  CollectAllLocked(/*everything=*/true);
  purge_due_ns_ = 0;
  for (ChunkHeader* chunk = chunks_; chunk != nullptr; chunk = chunk->next) {
    const std::uint64_t dirty = chunk->dirty_unused;
    chunk->dirty_unused = 0;
    Unretain(dirty);
    Decommit(chunk, dirty);
  }
  // Chunks released just now waited as long as their pages did.
  if constexpr (requires { source_->PurgeReleased(true); }) {
    source_->PurgeReleased(true);
  }
}

template <ChunkSource S>
std::size_t ThreadHeap<S>::ReclaimIfIdle() {
  if (!pages_lock_.TryLock()) return 0;
  std::size_t reclaimed = 0;
  const bool idle = slow_calls_ == slow_calls_seen_;
  slow_calls_seen_ = slow_calls_;
  for (ChunkHeader* chunk = idle ? chunks_ : nullptr; chunk != nullptr;
       chunk = chunk->next) {
    std::uint64_t taken = 0;
    for (int i = 1; i < kPagesPerChunk; ++i) {
      if (SharedLoad(chunk->pages[i].size_class) >= 0) {
        taken |= TakeIfFree(chunk, i);
      }
    }
    reclaimed += std::popcount(taken) * kPageSize;
    Decommit(chunk, taken);
  }
  pages_lock_.Unlock();
  return reclaimed;
}

template <ChunkSource S>
std::uint64_t ThreadHeap<S>::TakeIfFree(ChunkHeader* chunk, int index) {
  PageInfo* page = &chunk->pages[index];
  // A front page carries kFrontBias, so it never matches the count.
  const std::uint32_t used = Planted(PlantedBug::kReclaimTakesFrontPage)
                                 ? InUse(SharedLoad(page->used))
                                 : SharedLoad(page->used);
  if (page->remote_count.load(std::memory_order_relaxed) != used) return 0;
  // A remote free counts its blocks before it pushes them: the list may
  // still lack some, and then goes back as it was.
  void* const list =
      page->thread_free.exchange(nullptr, std::memory_order_acquire);
  const std::uintptr_t key = per_thread_internal::LinkKey();
  void* last = nullptr;
  const std::uint32_t count = WalkRemoteList(*page, list, used, key, &last);
  if (count != used) {
    if (list != nullptr) LinkRemote(page, list, last, key);
    return 0;
  }
  page->remote_count.fetch_sub(count, std::memory_order_relaxed);
  OwnerStore(page->used, std::uint32_t{0});
  QueueOf(page).Unlink(page);
  const std::uint64_t run = PageRunMask(index, page->span_pages);
  chunk->used_pages &= ~run;
  StopPage(page);
  return run;
}

template <ChunkSource S>
HeapReport ThreadHeap<S>::Verify() const {
  std::size_t pages_seen = 0;
  for (const ChunkHeader* chunk = chunks_; chunk != nullptr;
       chunk = chunk->next) {
    if (chunk->heap != this) return {"chunk names another heap", chunk};
    if (!source_->Contains(chunk)) {
      return {"chunk does not come from the chunk source", chunk};
    }
    std::uint64_t in_use = 1;
    for (int i = 1; i < kPagesPerChunk; ++i) {
      const PageInfo& page = chunk->pages[i];
      if (page.size_class == kPageContinues &&
          (page.span_back == 0 || page.span_back >= i ||
           (&page - page.span_back)->size_class < 0 ||
           page.span_back >= (&page - page.span_back)->span_pages)) {
        return {"page continues no span in use", &page};
      }
      if (page.size_class < 0) continue;
      if (page.span_pages == 0 || i + page.span_pages > kPagesPerChunk) {
        return {"span runs past its chunk", &page};
      }
      in_use |= PageRunMask(i, page.span_pages);
      ++pages_seen;
      const HeapReport report = VerifyPage(
          page, reinterpret_cast<const std::byte*>(chunk) + i * kPageSize);
      if (!report.ok()) return report;
    }
    if (in_use != chunk->used_pages) {
      return {"chunk's map of pages in use is wrong", chunk};
    }
  }
  std::size_t queued = 0;
  for (int cls = 0; cls < kSizeClasses; ++cls) {
    for (const PageInfo* p = queues_[cls].head(); p != nullptr; p = p->next) {
      if (p->size_class != cls || ++queued > pages_seen) {
        return {"page queue holds a page of another class, or loops", p};
      }
      if ((p->used >= kFrontBias) != (p == queues_[cls].head())) {
        return {"page's front bias does not match its place in its queue", p};
      }
    }
  }
  if (queued != pages_seen) {
    return {"a page in use is missing from its heap's queue", this};
  }
  return {};
}

template <ChunkSource S>
void ThreadHeap<S>::AddStats(HeapStats& stats) const {
  SpinLockHolder hold(&chunks_lock_);
  for (const ChunkHeader* c = chunks_; c != nullptr; c = c->next) {
    AddChunkStats(*c, stats);
  }
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_

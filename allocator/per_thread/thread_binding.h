#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_H_

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "allocator/common/misuse.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/spin_lock.h"
#include "allocator/common/tunables.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/retained_budget.h"
#include "allocator/per_thread/thread_heap.h"
#include "allocator/per_thread/tls_slot.h"

namespace rusty_malloc {

// Where thread heaps' own memory comes from: `bytes` of zeroed memory
// straight from the OS (malloc's bookkeeping cannot come from malloc), or
// nullptr when there is none. MapHeapMemory is mmap; a test may inject one
// that refuses. Whatever a mapper returns goes back through UnmapHeapMemory.
using HeapMapper = void* (*)(std::size_t bytes);
void* MapHeapMemory(std::size_t bytes);
void UnmapHeapMemory(void* memory, std::size_t bytes);

// Binds each thread to a heap of its own, for one allocator over chunk
// source S: the TLS slot, the registry of every heap, adoption of heaps
// whose thread exited, and what fork() does to them. A heap outlives its
// thread: the next thread without one adopts it.
template <ChunkSource S>
class ThreadBinding {
 public:
  using Heap = ThreadHeap<S>;

  constexpr ThreadBinding() = default;
  ThreadBinding(const ThreadBinding&) = delete;
  ThreadBinding& operator=(const ThreadBinding&) = delete;
  // Unmaps every heap: every thread that used one must be done with it.
  ~ThreadBinding();

  // The calling thread's heap if its TLS slot holds it, else nullptr: the
  // fast path, one TLS load and one compare.
  Heap* SlotHeap() const {
    const per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
    if (ABSL_PREDICT_TRUE(slot.instance ==
                          id_.load(std::memory_order_relaxed))) {
      // A slot names an allocator only with its heap.
      ABSL_ASSUME(slot.heap != nullptr);
      return static_cast<Heap*>(slot.heap);
    }
    return nullptr;
  }
  // The calling thread's heap: its own, else one adopted from an exited
  // thread, else a new one on chunks from `source`; nullptr when a new one
  // cannot be mapped.
  ABSL_ATTRIBUTE_NOINLINE Heap* MyHeapSlow(S* source)
      ABSL_LOCKS_EXCLUDED(lock_);
  // `allocate(Heap*)` on the calling thread's heap, for a thread whose TLS
  // slot does not hold it; nullptr when there is none. A thread past its
  // key destructor (thread-specific data destructors allocating at exit)
  // gets a heap lent for this one call instead of one bound to it: glibc
  // runs a bounded number of destructor rounds, and a heap bound in the last
  // would stay with the dead thread. Frees of what it allocated are remote.
  template <typename Allocate>
  void* AllocateUnbound(S* source, Allocate allocate)
      ABSL_LOCKS_EXCLUDED(lock_) {
    if (ABSL_PREDICT_FALSE(per_thread_internal::tls_slot.exiting)) {
      if (Heap* lent = LendHeap(source)) {
        void* block = allocate(lent);
        GiveBack(lent);
        return block;
      }
      // Its own heap is still bound (another instance's destructor ran).
    }
    Heap* heap = MyHeapSlow(source);
    return heap == nullptr ? nullptr : allocate(heap);
  }
  // Sends every later call down the out-of-line paths: no TLS slot names
  // this allocator and no chunk is cached, so the fast paths never hit (the
  // drop-in's trace recording sees every call there). A thread still finds
  // its heap, through pthread_getspecific. Call before threads other than
  // the caller use the allocator.
  void BypassFastPaths() {
    bypass_.store(true, std::memory_order_relaxed);
    chunk_id_.store(per_thread_internal::kUncachedId,
                    std::memory_order_relaxed);
    per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
    if (slot.instance == id_.load(std::memory_order_relaxed)) {
      slot.instance = 0;
      slot.local_chunk = 0;
    }
  }
  // Whether `p` lies in the chunk of the calling thread's own heap that its
  // TLS slot caches for this allocator (TlsSlot::local_chunk).
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool InLocalChunk(const void* p) const {
    return per_thread_internal::LocalChunkKey(
               p, chunk_id_.load(std::memory_order_relaxed)) ==
           per_thread_internal::tls_slot.local_chunk;
  }
  // Caches `chunk`, a chunk of the heap in the calling thread's TLS slot,
  // which must be this allocator's.
  void CacheLocalChunk(const void* chunk) {
    const std::uint64_t id = chunk_id_.load(std::memory_order_relaxed);
    if (id != per_thread_internal::kUncachedId) {
      per_thread_internal::tls_slot.local_chunk =
          per_thread_internal::LocalChunkKey(chunk, id);
    }
  }
  // The tag of the heap in the calling thread's TLS slot, whichever
  // allocator it belongs to, or 0. A chunk whose owner_tag equals it is the
  // calling thread's own: tags are never reused, so a slot left over from
  // a destroyed allocator matches nothing.
  static std::uint64_t SlotTag() { return per_thread_internal::tls_slot.tag; }
  // The calling thread's heap if it has one, without creating it.
  Heap* CachedHeap() {
    const per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
    if (slot.instance == id_.load(std::memory_order_relaxed)) {
      return static_cast<Heap*>(slot.heap);
    }
    if (id_.load(std::memory_order_acquire) == kUnbound) return nullptr;
    return static_cast<Heap*>(pthread_getspecific(key_));
  }

  // Calls `visit(const Heap&)` on every heap, live or abandoned, until it
  // returns false. Holds the registry lock throughout.
  template <typename Visit>
  void ForEachHeap(Visit visit) ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    for (const Heap* heap = heaps_; heap != nullptr;
         heap = heap->registry_next) {
      if (!visit(*heap)) return;
    }
  }
  // How many heaps exist (live and abandoned): a measure of adoption.
  std::size_t HeapCount() ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    return heap_count_;
  }

  // Gives the free memory of the heaps no thread uses back: their remote
  // frees taken over, their empty pages and chunks released and purged
  // (those unused for a purge delay, or with Due::kNow, all of it now), and
  // a heap left with no chunk unmapped itself (the next new thread maps
  // one).
  void ReleaseAbandoned(Due when) ABSL_LOCKS_EXCLUDED(lock_);
  // Reclaims the free pages of every idle heap (ThreadHeap::ReclaimIfIdle),
  // live or abandoned; at most once per kMinHousekeepingIntervalNs unless
  // Due::kNow. What a heap about to take a new chunk calls: memory a thread
  // no longer uses serves the growth of others (through the OS) without
  // waiting for that thread to allocate again or exit. A heap counts as
  // idle when it ran no allocation slow path between two such calls, so
  // the first call after a heap's last slow path only notes it. Returns the
  // bytes reclaimed.
  std::size_t ReclaimIdle(Due when) ABSL_LOCKS_EXCLUDED(lock_);

  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(lock_) { lock_.Lock(); }
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(lock_) { lock_.Unlock(); }
  // In the child: the heaps of threads that were running when the parent
  // forked may have been halfway through a change, and their threads do not
  // exist here. They become orphans: never adopted, visited or counted;
  // frees into them still work (remote frees are atomic pushes). The
  // remote frees those threads held in batches stay there, in use: one
  // may have been halfway through FreeRemoteBatched.
  void UnlockAfterForkInChild() ABSL_UNLOCK_FUNCTION(lock_);

  void set_mapper_for_testing(HeapMapper mapper) ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    mapper_ = mapper;
  }

 private:
  static void AbandonAtThreadExit(void* heap);
  // ReleaseAbandoned(Due::kWhenDue) on `self`, a ThreadBinding: what live heaps
  // call now and then (ThreadHeap::set_purge_others).
  static void PurgeAbandoned(void* self) {
    static_cast<ThreadBinding*>(self)->ReleaseAbandoned(Due::kWhenDue);
  }
  static void ReclaimIdleHeaps(void* self) {
    static_cast<ThreadBinding*>(self)->ReclaimIdle(Due::kWhenDue);
  }
  Heap* NewHeap(S* source) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // An abandoned heap taken off its list (`*adopted` set: the caller calls
  // its TakeOver once the lock is dropped), else a new one; nullptr when
  // none can be mapped.
  Heap* AdoptOrMake(S* source, bool* adopted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_) {
    Heap* heap = abandoned_;
    if (heap == nullptr) return NewHeap(source);
    abandoned_ = heap->abandoned_next;
    if (abandoned_ == nullptr) abandoned_last_ = nullptr;
    heap->abandoned = false;
    *adopted = true;
    return heap;
  }
  // For an exiting thread with no heap of this allocator bound: an abandoned
  // heap taken off the list (or a new one) for one call, or nullptr when the
  // thread still has its own (or no heap can be had: then MyHeapSlow fails
  // too). GiveBack abandons it again.
  ABSL_ATTRIBUTE_NOINLINE Heap* LendHeap(S* source) ABSL_LOCKS_EXCLUDED(lock_);
  void GiveBack(Heap* heap) ABSL_LOCKS_EXCLUDED(lock_);
  // What a bound slot's instance holds: this allocator's id, or 0 (which
  // no allocator has) once BypassFastPaths ran.
  std::uint64_t BoundId() const {
    return bypass_.load(std::memory_order_relaxed)
               ? 0
               : id_.load(std::memory_order_relaxed);
  }
  // Puts `heap` on the abandoned list.
  void Abandon(Heap* heap, std::int64_t now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_) {
    heap->abandoned = true;
    heap->abandoned_ns = now;
    heap->abandoned_next = nullptr;
    (abandoned_last_ == nullptr ? abandoned_
                                : abandoned_last_->abandoned_next) = heap;
    abandoned_last_ = heap;
  }

  SpinLock lock_;
  // kUnbound until the first thread asks for a heap: no slot holds it, so
  // the fast path needs no check that the slot's heap exists.
  static constexpr std::uint64_t kUnbound = ~std::uint64_t{0};
  std::atomic<std::uint64_t> id_{kUnbound};
  // id_ where it is below kUncachedId, else kUncachedId: the low bits of
  // this allocator's LocalChunkKey. The whole id_ would let an id of
  // kChunkSize or more alias another instance's cached key.
  std::atomic<std::uint64_t> chunk_id_{per_thread_internal::kUncachedId};
  std::atomic<bool> bypass_{false};  // BypassFastPaths.
  pthread_key_t key_{};  // Created under lock_ before id_ publishes it.
  HeapMapper mapper_ ABSL_GUARDED_BY(lock_) = &MapHeapMemory;
  Heap* heaps_ ABSL_GUARDED_BY(lock_) = nullptr;  // Every heap.
  // Heaps whose thread exited, oldest first: adopted in that order, since
  // the blocks of the heap abandoned longest ago have had the longest to be
  // freed. Last in, first out, a thread that starts a successor and exits
  // (a worker pool's turnover, larson's generations) hands its successor's
  // successor a heap full of blocks still in use, while emptied heaps sank
  // unused: larson at 16 threads peaked at 80 MiB instead of 46.
  Heap* abandoned_ ABSL_GUARDED_BY(lock_) = nullptr;
  Heap* abandoned_last_ ABSL_GUARDED_BY(lock_) = nullptr;
  Heap* orphans_ ABSL_GUARDED_BY(lock_) = nullptr;  // Left by fork().
  std::size_t heap_count_ ABSL_GUARDED_BY(lock_) = 0;
  RetainedBudget budget_;
  std::atomic<std::int64_t> next_reclaim_ns_{0};  // ReclaimIdle's next run.
};
}  // namespace rusty_malloc

#include "allocator/per_thread/thread_binding_housekeeping.h"  // IWYU pragma: export
#include "allocator/per_thread/thread_binding_lifecycle.h"  // IWYU pragma: export

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_H_

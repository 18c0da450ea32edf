#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RUSTY_MALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RUSTY_MALLOC_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/realloc_by_moving.h"
#include "allocator/common/spin_lock.h"
#include "allocator/contiguous/alignment.h"
#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/trim_policy.h"
#include "growers/grower.h"

namespace rusty_malloc {

// RawMalloc behind one lock, for any number of threads: the original crate's
// RustyMalloc. Every operation holds the lock for its heap work only; a
// moving Reallocate copies outside it.
//
// The lock is Abseil's SpinLock in kernel-only scheduling mode, the lock
// tcmalloc guards its own heap with: it spins briefly, then sleeps on a
// futex, and never allocates. absl::Mutex can allocate per-thread state on
// its slow path, which a malloc must not do.
template <Grower G, FreeBlockIndex Index = FreeList>
class RustyMalloc {
 public:
  constexpr explicit RustyMalloc(G grower, RawMallocOptions options = {})
      : raw_(std::move(grower), options) {}

  RustyMalloc(const RustyMalloc&) = delete;
  RustyMalloc& operator=(const RustyMalloc&) = delete;

  // Each has RawMalloc's contract, and may be called from any thread.
  [[nodiscard]] void* Allocate(std::size_t size, std::size_t align = kGranule)
      ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    return raw_.Allocate(size, align);
  }

  void Deallocate(void* ptr) ABSL_LOCKS_EXCLUDED(lock_) {
    if (ABSL_PREDICT_FALSE(ptr == nullptr)) return;
    SpinLockHolder hold(&lock_);
    if (Planted(PlantedBug::kEarlyUnlock)) {
      DeallocateUnlocked(ptr);
    } else {
      raw_.Deallocate(ptr);
    }
  }

  [[nodiscard]] void* Reallocate(void* ptr, std::size_t size,
                                 std::size_t align = kGranule)
      ABSL_LOCKS_EXCLUDED(lock_);

  [[nodiscard]] bool ResizeInPlace(void* ptr, std::size_t size)
      ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    return raw_.ResizeInPlace(ptr, size);
  }

  [[nodiscard]] std::size_t UsableSize(void* ptr) ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    return raw_.UsableSize(ptr);
  }

  [[nodiscard]] bool IsLiveBlock(const void* ptr) ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    return raw_.IsLiveBlock(ptr);
  }

  // For fork(): take the lock in the parent before forking and release it in
  // both processes after, so the child never inherits a heap that another
  // thread was halfway through changing (pthread_atfork's three handlers).
  void LockForFork() ABSL_NO_THREAD_SAFETY_ANALYSIS { lock_.Lock(); }
  void UnlockAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS { lock_.Unlock(); }
  void UnlockAfterForkInChild() { UnlockAfterFork(); }

  // RawMalloc::ReleaseFreeMemory under the lock (malloc_trim).
  void ReleaseFreeMemory() ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    raw_.ReleaseFreeMemory();
  }

  [[nodiscard]] ABSL_ATTRIBUTE_NOINLINE HeapReport Verify()
      ABSL_LOCKS_EXCLUDED(lock_);
  [[nodiscard]] ABSL_ATTRIBUTE_NOINLINE HeapStats Stats()
      ABSL_LOCKS_EXCLUDED(lock_);

 private:
  // The planted kEarlyUnlock bug: the free runs with the lock dropped, which
  // is exactly what the analysis exists to forbid, so it is told to look away.
  void DeallocateUnlocked(void* ptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    lock_.Unlock();
    raw_.Deallocate(ptr);
    lock_.Lock();
  }

  SpinLock lock_;
  RawMalloc<G, Index> raw_ ABSL_GUARDED_BY(lock_);
};

template <Grower G, FreeBlockIndex Index>
void* RustyMalloc<G, Index>::Reallocate(void* ptr, std::size_t size,
                                        std::size_t align) {
  if (ptr == nullptr) return Allocate(size, align);
  if (!IsValidAlignment(align)) return nullptr;
  std::size_t old_usable;
  {
    SpinLockHolder hold(&lock_);
    if (reinterpret_cast<std::uintptr_t>(ptr) % align == 0 &&
        raw_.ResizeInPlace(ptr, size)) {
      return ptr;
    }
    old_usable = raw_.UsableSize(ptr);
  }
  return ReallocByMoving(*this, ptr, old_usable, size, align);
}

template <Grower G, FreeBlockIndex Index>
HeapReport RustyMalloc<G, Index>::Verify() {
  SpinLockHolder hold(&lock_);
  return raw_.Verify();
}

template <Grower G, FreeBlockIndex Index>
HeapStats RustyMalloc<G, Index>::Stats() {
  SpinLockHolder hold(&lock_);
  return raw_.Stats();
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RUSTY_MALLOC_H_

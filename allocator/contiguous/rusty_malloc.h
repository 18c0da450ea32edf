#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RUSTY_MALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RUSTY_MALLOC_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/const_init.h"
#include "absl/base/internal/spinlock.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/realloc_by_moving.h"
#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/raw_malloc.h"
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
      : lock_(absl::kConstInit, absl::base_internal::SCHEDULE_KERNEL_ONLY),
        raw_(std::move(grower), options) {}

  RustyMalloc(const RustyMalloc&) = delete;
  RustyMalloc& operator=(const RustyMalloc&) = delete;

  // Each has RawMalloc's contract, and may be called from any thread.
  void* Allocate(std::size_t size, std::size_t align = kGranule) {
    absl::base_internal::SpinLockHolder hold(&lock_);
    return raw_.Allocate(size, align);
  }

  void Deallocate(void* ptr) {
    if (ptr == nullptr) return;
    absl::base_internal::SpinLockHolder hold(&lock_);
    if (Planted(PlantedBug::kEarlyUnlock)) {
      lock_.Unlock();
      raw_.Deallocate(ptr);
      lock_.Lock();
    } else {
      raw_.Deallocate(ptr);
    }
  }

  void* Reallocate(void* ptr, std::size_t size, std::size_t align = kGranule);

  bool ResizeInPlace(void* ptr, std::size_t size) {
    absl::base_internal::SpinLockHolder hold(&lock_);
    return raw_.ResizeInPlace(ptr, size);
  }

  std::size_t UsableSize(void* ptr) {
    absl::base_internal::SpinLockHolder hold(&lock_);
    return raw_.UsableSize(ptr);
  }

  bool IsLiveBlock(const void* ptr) {
    absl::base_internal::SpinLockHolder hold(&lock_);
    return raw_.IsLiveBlock(ptr);
  }

  // For fork(): take the lock in the parent before forking and release it in
  // both processes after, so the child never inherits a heap that another
  // thread was halfway through changing (pthread_atfork's three handlers).
  void LockForFork() ABSL_NO_THREAD_SAFETY_ANALYSIS { lock_.Lock(); }
  void UnlockAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS { lock_.Unlock(); }
  void UnlockAfterForkInChild() { UnlockAfterFork(); }

  HeapReport Verify() {
    absl::base_internal::SpinLockHolder hold(&lock_);
    return raw_.Verify();
  }

  HeapStats Stats() {
    absl::base_internal::SpinLockHolder hold(&lock_);
    return raw_.Stats();
  }

 private:
  absl::base_internal::SpinLock lock_;
  RawMalloc<G, Index> raw_;
};

template <Grower G, FreeBlockIndex Index>
void* RustyMalloc<G, Index>::Reallocate(void* ptr, std::size_t size,
                                        std::size_t align) {
  if (ptr == nullptr) return Allocate(size, align);
  if (!IsValidAlignment(align)) return nullptr;
  std::size_t old_usable;
  {
    absl::base_internal::SpinLockHolder hold(&lock_);
    if (reinterpret_cast<std::uintptr_t>(ptr) % align == 0 &&
        raw_.ResizeInPlace(ptr, size)) {
      return ptr;
    }
    old_usable = raw_.UsableSize(ptr);
  }
  return ReallocByMoving(*this, ptr, old_usable, size, align);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RUSTY_MALLOC_H_

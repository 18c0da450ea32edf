#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_SPIN_LOCK_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_SPIN_LOCK_H_

#include "absl/base/config.h"
#include "absl/base/const_init.h"
#include "absl/base/internal/spinlock.h"
#include "absl/base/thread_annotations.h"

// Abseil 20250814 renamed SpinLock's Lock/Unlock to lock/unlock, made the
// scheduling-mode constructor constexpr and deprecated the old spellings,
// which a -Werror build rejects. Releases before it have only the old ones.
// An Abseil from head (no LTS version) is taken to be after the rename.
#if defined(ABSL_LTS_RELEASE_VERSION) && ABSL_LTS_RELEASE_VERSION < 20250814
#define RUSTY_MALLOC_ABSL_SPINLOCK_OLD_NAMES 1
#endif

namespace rusty_malloc {

// The lock every locked structure here takes: Abseil's SpinLock in
// kernel-only scheduling mode, which never calls back into code that may
// allocate, constant-initialised so that a heap works before constructors
// run. One place names Abseil's internal API, under every release's names.
class ABSL_LOCKABLE SpinLock {
 public:
#ifdef RUSTY_MALLOC_ABSL_SPINLOCK_OLD_NAMES
  constexpr SpinLock()
      : lock_(absl::kConstInit, absl::base_internal::SCHEDULE_KERNEL_ONLY) {}
#else
  constexpr SpinLock() : lock_(absl::base_internal::SCHEDULE_KERNEL_ONLY) {}
#endif
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

#ifdef RUSTY_MALLOC_ABSL_SPINLOCK_OLD_NAMES
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { lock_.Lock(); }
  [[nodiscard]] bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return lock_.TryLock();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() { lock_.Unlock(); }
#else
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { lock_.lock(); }
  [[nodiscard]] bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return lock_.try_lock();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() { lock_.unlock(); }
#endif

 private:
  absl::base_internal::SpinLock lock_;
};

class ABSL_SCOPED_LOCKABLE SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock* lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock)
      : lock_(lock) {
    lock_->Lock();
  }
  ~SpinLockHolder() ABSL_UNLOCK_FUNCTION() { lock_->Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock* const lock_;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_SPIN_LOCK_H_

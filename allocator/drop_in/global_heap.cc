#include "allocator/drop_in/global_heap.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "allocator/common/spin_lock.h"

// The loader sets it to this object's handle (crtbegin): what glibc
// unregisters handlers by when a library is unloaded.
extern "C" void* __dso_handle;  // NOLINT(bugprone-reserved-identifier)

namespace rusty_malloc {

namespace global_heap_internal {

#if defined(RUSTY_MALLOC_GLOBAL_BRK)
constexpr NeverDestroyed::NeverDestroyed()
    : heap(BrkGrower(/*increment=*/1 << 20)) {}
#elif defined(RUSTY_MALLOC_GLOBAL_LOCKED)
constexpr NeverDestroyed::NeverDestroyed()
    : heap(MmapGrower(/*reserve_bytes=*/std::size_t{64} << 30,
                      /*commit_step=*/1 << 20,
                      /*first_reserve_bytes=*/4 << 20)) {}
#else
constexpr NeverDestroyed::NeverDestroyed() : heap() {}
#endif

constinit NeverDestroyed global;

}  // namespace global_heap_internal

namespace {

using global_heap_internal::global;

constinit std::atomic<const ForkHooks*> fork_hooks{nullptr};

void PrepareFork() {
  if (const ForkHooks* hooks = fork_hooks.load(std::memory_order_acquire)) {
    hooks->prepare();
  }
  global.heap.LockForFork();
}
void AfterForkInParent() {
  global.heap.UnlockAfterFork();
  if (const ForkHooks* hooks = fork_hooks.load(std::memory_order_acquire)) {
    hooks->parent();
  }
}
void AfterForkInChild() {
  global.heap.UnlockAfterForkInChild();
  if (const ForkHooks* hooks = fork_hooks.load(std::memory_order_acquire)) {
    hooks->child();
  }
}

// glibc runs prepare handlers last-registered first, and parent and child
// handlers first-registered first. The heap's must run after every other
// prepare handler (which may allocate: its locks are not held yet) and
// before every other parent or child handler (which may allocate: they are
// released already), so they must be registered before anyone else's. A
// library loaded before this one registers from its constructor, before
// ours runs; so every registration comes through __register_atfork below
// (pthread_atfork is a static stub in each binary that calls it), which
// puts the heap's handlers first. glibc's own malloc is not affected: its
// fork code is called by fork() directly, not registered.
using RegisterAtfork = int (*)(void (*)(), void (*)(), void (*)(), void*);

RegisterAtfork RealRegisterAtfork() {
  static constinit std::atomic<RegisterAtfork> real{nullptr};
  RegisterAtfork found = real.load(std::memory_order_acquire);
  if (found == nullptr) {
    // dlsym may allocate: the heap works from the start, and no lock of
    // ours is held here.
    found =
        reinterpret_cast<RegisterAtfork>(dlsym(RTLD_NEXT, "__register_atfork"));
    real.store(found, std::memory_order_release);
  }
  return found;
}

constinit SpinLock registration_lock;
constinit bool registered ABSL_GUARDED_BY(registration_lock) = false;

// Registers the heap's handlers unless they are already: once, first.
void RegisterHeapHandlersFirst(RegisterAtfork real) {
  if (real == nullptr) return;
  SpinLockHolder hold(&registration_lock);
  if (registered) return;
  // glibc's registration allocates: our heap serves it, lock-free of this.
  registered = real(PrepareFork, AfterForkInParent, AfterForkInChild,
                    &__dso_handle) == 0;
}

// Runs when the binary or the preloaded library is loaded, for a process in
// which nobody registered a fork handler before.
__attribute__((constructor)) void RegisterForkHandlers() {
  RegisterHeapHandlersFirst(RealRegisterAtfork());
}

}  // namespace

void SetForkHooks(const ForkHooks* hooks) {
  fork_hooks.store(hooks, std::memory_order_release);
}

}  // namespace rusty_malloc

// A sanitizer's runtime registers fork handlers of its own as it starts,
// before it can run instrumented code such as this, and under a sanitizer
// the drop-in is not the process's malloc anyway: there, only the
// constructor registers the heap's handlers.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RUSTY_MALLOC_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define RUSTY_MALLOC_UNDER_SANITIZER 1
#endif
#endif

#ifndef RUSTY_MALLOC_UNDER_SANITIZER
// What pthread_atfork calls, in every binary and library of the process.
// NOLINTNEXTLINE(bugprone-reserved-identifier): glibc's name for it.
extern "C" int __register_atfork(void (*prepare)(), void (*parent)(),
                                 void (*child)(), void* dso_handle) {
  const rusty_malloc::RegisterAtfork real = rusty_malloc::RealRegisterAtfork();
  // Only a static binary lacks glibc's (and then this one is not reached).
  if (real == nullptr) return ENOSYS;
  rusty_malloc::RegisterHeapHandlersFirst(real);
  return real(prepare, parent, child, dso_handle);
}
#endif  // RUSTY_MALLOC_UNDER_SANITIZER

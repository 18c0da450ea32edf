#include "allocator/drop_in/global_heap.h"

#include <pthread.h>

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

void PrepareFork() { global.heap.LockForFork(); }
void AfterForkInParent() { global.heap.UnlockAfterFork(); }
void AfterForkInChild() { global.heap.UnlockAfterForkInChild(); }

// Runs when the binary or the preloaded library is loaded. pthread_atfork
// may itself allocate, which is fine: the heap works from the start.
__attribute__((constructor)) void RegisterForkHandlers() {
  pthread_atfork(PrepareFork, AfterForkInParent, AfterForkInChild);
}

}  // namespace

}  // namespace rusty_malloc

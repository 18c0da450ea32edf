#include "allocator/global_heap.h"

#include <pthread.h>

namespace rusty_malloc {
namespace {

constexpr std::size_t kReserve = std::size_t{64} << 30;
constexpr std::size_t kGrowthStep = 1 << 20;

#ifdef RUSTY_MALLOC_GLOBAL_BRK
constexpr BrkGrower MakeGrower() { return BrkGrower(kGrowthStep); }
#else
constexpr MmapGrower MakeGrower() { return MmapGrower(kReserve, kGrowthStep); }
#endif

// A union member is not destroyed unless the union's destructor says so.
union NeverDestroyed {
  constexpr NeverDestroyed() : heap(MakeGrower()) {}
  ~NeverDestroyed() {}
  GlobalHeap heap;
};

constinit NeverDestroyed global;

void PrepareFork() { global.heap.LockForFork(); }
void AfterFork() { global.heap.UnlockAfterFork(); }

// Runs when the binary or the preloaded library is loaded. pthread_atfork
// may itself allocate, which is fine: the heap works from the start.
__attribute__((constructor)) void RegisterForkHandlers() {
  pthread_atfork(PrepareFork, AfterFork, AfterFork);
}

}  // namespace

GlobalHeap& TheGlobalHeap() { return global.heap; }

}  // namespace rusty_malloc

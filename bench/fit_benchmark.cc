// Time per allocation against the number of free blocks, for first fit (the
// original crate's policy) and segregated fit.
//
// Setup, untimed: N small free blocks (32 bytes, kept apart by live guards so
// they cannot merge) sit at the front of the free list, ahead of M free
// blocks that fit the request exactly. Timed: M allocations of that size.
// First fit walks past every small block each time; segregated fit goes
// straight to the right size class. Best of 3 setups.
//
// Usage: fit_benchmark

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc {
namespace {

constexpr std::size_t kSmall = 24;     // A 32-byte block.
constexpr std::size_t kRequest = 248;  // A 256-byte block.
constexpr int kTargets = 1000;
constexpr int kRepeats = 3;

template <typename Index>
double NanosecondsPerAllocation(int free_blocks) {
  double best = 1e30;
  for (int r = 0; r < kRepeats; ++r) {
    RawMallocOptions options;
    options.trim_threshold = SIZE_MAX;
    RawMalloc<MmapGrower, Index> heap(MmapGrower(std::size_t{8} << 30),
                                      options);
    std::vector<void*> small, targets, guards;
    for (int i = 0; i < kTargets; ++i) {
      targets.push_back(heap.Allocate(kRequest));
      guards.push_back(heap.Allocate(kSmall));
    }
    for (int i = 0; i < free_blocks; ++i) {
      small.push_back(heap.Allocate(kSmall));
      guards.push_back(heap.Allocate(kSmall));
    }
    for (void* p : targets) heap.Deallocate(p);
    for (void* p : small) heap.Deallocate(p);  // Now in front of the targets.

    std::vector<void*> got(kTargets);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kTargets; ++i) got[i] = heap.Allocate(kRequest);
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count() / kTargets);
    if (!heap.Verify().ok() || heap.grower().Size() == 0) {
      std::fprintf(stderr, "heap check failed\n");
      std::exit(1);
    }
  }
  return best;
}

int Main() {
  std::printf(
      "Time per allocation of 248 bytes with N small free blocks ahead of the "
      "fitting ones (best of %d).\n\n",
      kRepeats);
  std::printf("| policy | free blocks | ns per allocation |\n|---|---|---|\n");
  for (int n : {1000, 100000}) {
    std::printf("| first fit (FreeList) | %d | %.0f |\n", n,
                NanosecondsPerAllocation<FreeList>(n));
  }
  for (int n : {1000, 100000}) {
    std::printf("| segregated fit (SegregatedFreeList) | %d | %.0f |\n", n,
                NanosecondsPerAllocation<SegregatedFreeList>(n));
  }
  return 0;
}

}  // namespace
}  // namespace rusty_malloc

int main() { return rusty_malloc::Main(); }

// The per-thread allocator, two ways, chosen by the first byte (which also
// turns the sampler on for some inputs): one thread
// against HeapModel (testing/heap_model.h) on a grower-backed chunk source, so
// Verify() runs after every operation, with the footprint oracle after every
// trim; or concurrent alloc and free from several threads with cross-thread
// frees (fuzz/concurrent_harness.h). Built under ASan+UBSan (--config=fuzz)
// and TSan (--config=fuzz_tsan).

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "fuzz/concurrent_harness.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/model_ops.h"
#include "testing/no_coverage.h"
#include "testing/test_growers.h"

namespace rusty_malloc::fuzzing {
namespace {

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // The oracle's bookkeeping is not fuzzed.

// The heap as HeapModel drives it, counting the live blocks in each chunk,
// so that after a trim (ReleaseFreeMemory, malloc_trim's path) the footprint
// oracle can be exact: the trimming thread's heap is the only one, and a
// trim retires every empty page and releases every chunk with no page in
// use (ThreadHeap::Purge), so the heap holds exactly the chunks where a
// live block lies (Stats().heap_bytes less the medium heap's). A chunk kept
// empty, or one released under a live block, fails.
template <typename Heap>
class FootprintChecked {
 public:
  explicit FootprintChecked(Heap& heap) : heap_(heap) {}

  void* Allocate(std::size_t size, std::size_t align) {
    void* p = heap_.Allocate(size, align);
    Count(p, +1);
    return p;
  }
  void Deallocate(void* p) {
    Count(p, -1);
    heap_.Deallocate(p);
  }
  void* Reallocate(void* p, std::size_t size, std::size_t align) {
    void* moved = heap_.Reallocate(p, size, align);
    if (moved != nullptr) {
      Count(p, -1);
      Count(moved, +1);
    }
    return moved;
  }
  std::size_t UsableSize(void* p) { return heap_.UsableSize(p); }
  HeapReport Verify() { return heap_.Verify(); }
  HeapStats Stats() { return heap_.Stats(); }

  void ReleaseFreeMemory() {
    heap_.ReleaseFreeMemory();
    std::size_t in_use = 0;
    for (const auto& [chunk, blocks] : chunks_) in_use += blocks > 0;
    const std::size_t held = heap_.Stats().heap_bytes -
                             heap_.medium().Stats().heap_bytes -
                             heap_.sampler().pool().Stats().heap_bytes;
    if (held != in_use * kChunkSize) {
      Require("footprint: after a trim the heap holds " +
              std::to_string(held / kChunkSize) +
              " chunks where live blocks lie in " + std::to_string(in_use));
    }
  }

 private:
  void Count(void* p, long delta) {
    if (p == nullptr || !heap_.source().Contains(p)) return;
    const void* chunk = ChunkOf(p);
    for (auto& [c, blocks] : chunks_) {
      if (c == chunk) {
        blocks += delta;
        return;
      }
    }
    chunks_.emplace_back(chunk, delta);
  }

  Heap& heap_;
  // Few: the grower holds 16 chunks.
  std::vector<std::pair<const void*, long>> chunks_;
};

RUSTY_MALLOC_NO_COVERAGE_END

}  // namespace

// The first byte's other bits turn the sampler on for some inputs: a sample
// every 1 to 32 KiB on average, one in 1 to 4 of them guarded, with the
// heap profile or without, so that the model checks guarded and profiled
// blocks (their realloc, usable size, alignment and free) like any other.
template <typename Heap>
void SampleAsAsked(Heap& heap, std::uint8_t mode) {
  if ((mode & 0x02) == 0) return;
  if ((mode & 0x04) != 0) heap.sampler().EnableProfile();
  // Unpaced: pacing reads the clock, and a run must repeat exactly.
  heap.sampler().Configure(std::size_t{1024} << ((mode >> 3) & 7),
                           1 + ((mode >> 6) & 3), /*pacing_share=*/0);
}

void FuzzOne(FuzzInput& in) {
  const std::uint8_t mode = in.Byte();
  if (mode % 2 == 1) {
    PerThreadMalloc<MmapChunkSource> heap(std::size_t{1} << 30);
    SampleAsAsked(heap, mode);
    RunConcurrently(heap, /*verify_while_running=*/false, in.Rest());
    return;
  }
  PerThreadMalloc<GrowerChunkSource<testing::TestGrower>> heap(
      testing::TestGrower(64 << 20));
  SampleAsAsked(heap, mode);
  FootprintChecked checked(heap);
  RunModelOps(checked, in);
}

}  // namespace rusty_malloc::fuzzing

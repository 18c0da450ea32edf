// The per-thread allocator, two ways, chosen by the first byte: one thread
// against HeapModel (testing/heap_model.h) on a grower-backed chunk source, so
// Verify() runs after every operation; or concurrent alloc and free from
// several threads with cross-thread frees (fuzz/concurrent_harness.h).
// Built under ASan+UBSan (--config=fuzz) and TSan (--config=fuzz_tsan).

#include <cstddef>

#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "fuzz/concurrent_harness.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/model_ops.h"
#include "testing/test_growers.h"

namespace rusty_malloc::fuzzing {

void FuzzOne(FuzzInput& in) {
  if (in.Byte() % 2 == 1) {
    PerThreadMalloc<MmapChunkSource> heap(std::size_t{1} << 30);
    RunConcurrently(heap, /*verify_while_running=*/false, in.Rest());
    return;
  }
  PerThreadMalloc<GrowerChunkSource<testing::TestGrower>> heap(
      testing::TestGrower(64 << 20));
  RunModelOps(heap, in);
}

}  // namespace rusty_malloc::fuzzing

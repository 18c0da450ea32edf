// The per-thread allocator, two ways, chosen by the first byte: one thread
// against HeapModel (tests/heap_model.h) on a grower-backed chunk source, so
// Verify() runs after every operation; or concurrent alloc and free from
// several threads with cross-thread frees (fuzz/concurrent_harness.h).
// Built under ASan+UBSan (--config=fuzz) and TSan (--config=fuzz_tsan).

#include <cstddef>
#include <cstdint>

#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "fuzz/concurrent_harness.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/model_ops.h"
#include "testing/test_growers.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace rusty_malloc;
  using namespace rusty_malloc::fuzzing;
  if (size > 0 && data[0] % 2 == 1) {
    PerThreadMalloc<MmapChunkSource> heap(std::size_t{1} << 30);
    RunConcurrently(heap, /*verify_while_running=*/false, data + 1, size - 1);
    return 0;
  }
  FuzzInput in(data, size);
  in.Byte();
  PerThreadMalloc<GrowerChunkSource<testing::TestGrower>> heap(
      testing::TestGrower(64 << 20));
  RunModelOps(heap, in);
  return 0;
}

// The per-thread allocator, two ways, chosen by the first byte: one thread
// against HeapModel (tests/heap_model.h) on a grower-backed chunk source, so
// Verify() runs after every operation; or concurrent alloc and free from
// several threads with cross-thread frees (fuzz/concurrent_harness.h).
// Built under ASan+UBSan (--config=fuzz) and TSan (--config=fuzz_tsan).

#include <cstddef>
#include <cstdint>

#include "allocator/chunk_source.h"
#include "allocator/per_thread_malloc.h"
#include "fuzz/concurrent_harness.h"
#include "fuzz/fuzz_input.h"
#include "tests/heap_model.h"
#include "tests/test_growers.h"

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
  testing::HeapModel model(heap);
  for (int ops = 0; ops < 2048 && !in.empty(); ++ops) {
    switch (in.Byte() % 4) {
      case 0: {
        const std::size_t n = in.Size();
        Require(model.Allocate(n, in.Alignment()));
        break;
      }
      case 1:
        Require(model.Free(in.Byte()));
        break;
      case 2: {
        const std::size_t index = in.Byte();
        const std::size_t n = in.Size();
        Require(model.Reallocate(index, n, in.Alignment()));
        break;
      }
      default:
        Require(model.CheckUsableSize(in.Byte()));
        break;
    }
    Require(model.Check());
  }
  Require(model.FreeAll());
  return 0;
}

#ifndef RUSTY_MALLOC_FUZZ_MODEL_OPS_H_
#define RUSTY_MALLOC_FUZZ_MODEL_OPS_H_

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "testing/heap_model.h"

namespace rusty_malloc::fuzzing {

// Decodes the rest of `in` into allocate (size, alignment), free, realloc
// and usable-size operations on `heap`, and into operations at scale (up to
// 256 blocks allocated at once, every n-th block freed, then now and then
// all free memory released, as malloc_trim does: a heap that checks its
// footprint there does it in ReleaseFreeMemory), checked by HeapModel
// (CheckWhenDue after each), then frees everything. Aborts on any failure.
template <typename Heap>
void RunModelOps(Heap& heap, FuzzInput& in) {
  testing::HeapModel model(heap);
  for (int ops = 0; ops < 2048 && !in.empty(); ++ops) {
    switch (in.Byte() % 6) {
      case 0: {
        const std::size_t size = in.Size();
        Require(model.Allocate(size, in.Alignment()));
        break;
      }
      case 1:
        Require(model.Free(in.Byte()));
        break;
      case 2: {
        const std::size_t index = in.Byte();
        const std::size_t size = in.Size();
        Require(model.Reallocate(index, size, in.Alignment()));
        break;
      }
      case 3:
        Require(model.CheckUsableSize(in.Byte()));
        break;
      case 4: {
        const int count = 1 + in.Byte();
        const std::size_t size = in.Uint16() % 4096;
        const std::size_t align = in.Alignment();
        // Stop at the first refusal: the rest would be refused too.
        for (int i = 0; i < count; ++i) {
          const std::size_t before = model.live();
          Require(model.Allocate(size, align));
          if (model.live() == before) break;
        }
        break;
      }
      default: {
        const std::uint8_t b = in.Byte();
        const std::size_t stride = 1 + b % 8;
        for (std::size_t i = model.live(); i-- > 0;) {
          if (i % stride == 0) Require(model.Free(i));
        }
        // Now and then malloc_trim's path: every free page decommitted, the
        // top trimmed; the live blocks' patterns must survive it.
        if constexpr (requires { heap.ReleaseFreeMemory(); }) {
          if (b & 0x80) heap.ReleaseFreeMemory();
        }
        break;
      }
    }
    Require(model.CheckWhenDue());
  }
  Require(model.FreeAll());
}

}  // namespace rusty_malloc::fuzzing

#endif  // RUSTY_MALLOC_FUZZ_MODEL_OPS_H_

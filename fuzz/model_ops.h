#ifndef RUSTY_MALLOC_FUZZ_MODEL_OPS_H_
#define RUSTY_MALLOC_FUZZ_MODEL_OPS_H_

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "tests/heap_model.h"

namespace rusty_malloc::fuzzing {

// Decodes the rest of `in` into allocate (size, alignment), free, realloc
// and usable-size operations on `heap`, checked by HeapModel after every
// one (Verify() included), then frees everything. Aborts on any failure.
template <typename Heap>
void RunModelOps(Heap& heap, FuzzInput& in) {
  testing::HeapModel model(heap);
  for (int ops = 0; ops < 2048 && !in.empty(); ++ops) {
    switch (in.Byte() % 4) {
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
      default:
        Require(model.CheckUsableSize(in.Byte()));
        break;
    }
    Require(model.Check());
  }
  Require(model.FreeAll());
}

}  // namespace rusty_malloc::fuzzing

#endif  // RUSTY_MALLOC_FUZZ_MODEL_OPS_H_

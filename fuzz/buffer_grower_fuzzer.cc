// The out-of-memory harness: a BufferGrower against a model of its extent
// (on a buffer of fuzzed size and misalignment), then a RawMalloc on a buffer
// of a few KiB, so that growth is refused all the time and every
// out-of-memory path runs, checked by HeapModel.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "allocator/contiguous/raw_malloc.h"
#include "fuzz/fuzz_input.h"
#include "growers/buffer_grower.h"
#include "testing/heap_model.h"

namespace rusty_malloc::fuzzing {
namespace {

// The grower alone, on a buffer of fuzzed length and misalignment.
void GrowerAlone(FuzzInput& in) {
  const std::size_t offset = in.Byte() % 16;
  const std::size_t length = in.Uint16() % 8192;
  auto storage = std::make_unique<std::byte[]>(8192 + 32);
  BufferGrower grower(std::span<std::byte>(storage.get() + offset, length));
  const auto begin = reinterpret_cast<std::uintptr_t>(storage.get() + offset);
  const std::size_t skip = (16 - begin % 16) % 16;
  const std::size_t capacity = length > skip ? (length - skip) / 16 * 16 : 0;
  if (grower.Capacity() != capacity) Require("capacity");
  std::size_t model = 0;
  for (int i = 0; i < 64 && !in.empty(); ++i) {
    const std::size_t bytes = (in.Byte() % 64 + 1) * 16;
    if (in.Byte() % 2 == 0) {
      const std::size_t added = grower.Grow(bytes);
      const std::size_t expected = model + bytes <= capacity ? bytes : 0;
      if (added != expected) Require("Grow disagrees with the model");
      model += added;
    } else {
      const bool ok = grower.Shrink(bytes);
      if (ok != (bytes <= model)) Require("Shrink disagrees with the model");
      if (ok) model -= bytes;
    }
    if (grower.Size() != model) Require("Size disagrees with the model");
    if (model > 0 && reinterpret_cast<std::uintptr_t>(grower.Base()) % 16) {
      Require("misaligned base");
    }
  }
}

// A heap that runs out.
void HeapThatRunsOut(FuzzInput& in) {
  const std::size_t capacity = 512 + in.Uint16() % (16 << 10);
  auto storage = std::make_unique<std::byte[]>(capacity);
  RawMallocOptions options;
  options.trim_threshold = 1024;
  options.top_pad = 0;
  RawMalloc<BufferGrower> heap(
      BufferGrower(std::span<std::byte>(storage.get(), capacity)), options);
  testing::HeapModel model(heap);
  for (int ops = 0; ops < 1024 && !in.empty(); ++ops) {
    switch (in.Byte() % 3) {
      case 0: {
        const std::size_t n = in.Byte() * std::size_t{8};
        Require(model.Allocate(n, in.Alignment() % 1024));
        break;
      }
      case 1:
        Require(model.Free(in.Byte()));
        break;
      default: {
        const std::size_t index = in.Byte();
        Require(model.Reallocate(index, in.Byte() * std::size_t{16}, kGranule));
        break;
      }
    }
    Require(model.Check());
  }
  Require(model.FreeAll());
}

}  // namespace

void FuzzOne(FuzzInput& in) {
  GrowerAlone(in);
  HeapThatRunsOut(in);
}

}  // namespace rusty_malloc::fuzzing

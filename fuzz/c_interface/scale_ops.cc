// Part of malloc_fuzzer: the operations at scale, so that a few input bytes
// reach whole pages, chunks and the medium heap: thousands of blocks at
// once, every other block freed, one block grown through many doublings.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing::c_interface {

// K blocks of one size from one function: fills pages and chunks.
void Model::AllocateMany(FuzzInput& in) {
  const std::uint8_t how = in.Byte();
  const std::size_t many = in.Uint16();
  // Thousands only now and then: they cost milliseconds.
  std::size_t count = 1 + ((how & 0x1c) == 0x1c ? many % 4096 : many % 64);
  std::size_t size = DecodeSize(in);
  if (Cost(size, 16) == SIZE_MAX) size %= 4096;
  count = std::min(count, Budget() / std::max<std::size_t>(size, 16));
  for (std::size_t i = 0; i < count && work_ < kWorkPerInput; ++i) {
    void* p;
    switch (how % 4) {
      case 0:
        p = c_api::Malloc(heap_, size);
        break;
      case 1:
        p = c_api::Calloc(heap_, 1, size);
        if (p != nullptr) {
          CheckZero(static_cast<std::byte*>(p), size,
                    "calloc gave memory not zeroed");
        }
        break;
      case 2:
        p = c_api::Realloc(heap_, nullptr, size);
        break;
      default:
        p = c_api::NewNoThrow(heap_, size, c_api::kNewAlignment);
        break;
    }
    if (p == nullptr) Fail("allocating many", size, i);
    Admit(p, size, 16, how % 4 == 3 ? Kind::kNew : Kind::kC, "allocating many");
  }
}

// Frees every other live block, leaving holes all over the heap.
void Model::FreeEveryOther(FuzzInput& in) {
  const std::size_t parity = in.Byte() % 2;
  for (std::size_t i = live_.size(); i-- > 0;) {
    if (i % 2 == parity) Release(i, i % 4 < 2);
  }
}

// One block through many doublings: from a small class into the medium
// heap, its contents checked at every step.
void Model::ReallocGrow(FuzzInput& in) {
  std::size_t index = PickC(in);
  const int steps = 1 + in.Byte() % 20;
  if (index == SIZE_MAX) return;
  for (int i = 0; i < steps && work_ < kWorkPerInput; ++i) {
    const Block b = live_[index];
    const std::size_t bytes = std::max<std::size_t>(b.size * 2, 1) + i % 3;
    if (bytes > Budget() + b.size) return;
    void* p = c_api::Realloc(heap_, b.ptr, bytes);
    if (p == nullptr) Fail("realloc growing a block", bytes);
    CheckContents(
        Block{static_cast<std::byte*>(p), b.size, b.align, b.id, b.kind, 0},
        b.size, "growing realloc lost contents");
    Forget(index);
    Admit(p, bytes, 16, Kind::kC, "realloc growing a block");
    index = live_.size() - 1;
  }
}

}  // namespace rusty_malloc::fuzzing::c_interface

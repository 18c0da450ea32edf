// Part of malloc_fuzzer: a live block as the model records it, and the
// pattern each one carries, apart from the model because every family of
// operations fills and checks them the same way.

#ifndef RUSTY_MALLOC_FUZZ_C_INTERFACE_BLOCK_H_
#define RUSTY_MALLOC_FUZZ_C_INTERFACE_BLOCK_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "testing/patterns.h"

namespace rusty_malloc::fuzzing::c_interface {

enum class Kind : std::uint8_t { kC, kNew };

struct Block {
  std::byte* ptr;
  std::size_t size;
  std::size_t align;  // What the caller asked for, as served (>= 16).
  std::uint64_t id;
  Kind kind;
  std::size_t usable;  // malloc_usable_size when it was admitted.
};

// Patterns cover a block's first two words, its end, and one word in
// StrideOf(size) (testing::FillPattern's stride), so that a large block
// costs a few KiB to fill and check (and faults in a few pages) rather than
// all of it.
inline std::size_t StrideOf(std::size_t size) {
  return std::max<std::size_t>(128, size / 8 / 64);
}

inline void FillBlock(std::byte* p, std::size_t size, std::uint64_t id) {
  testing::FillPattern(p, size, id, StrideOf(size));
}

// The offset of the first byte below `upto` that FillBlock(p', size, id)
// wrote and `p` does not hold, or SIZE_MAX.
inline std::size_t FirstDamage(const std::byte* p, std::size_t size,
                               std::uint64_t id, std::size_t upto) {
  const std::size_t bad =
      testing::FirstPatternMismatch(p, upto, id, StrideOf(size), size);
  return bad == upto ? SIZE_MAX : bad;
}

}  // namespace rusty_malloc::fuzzing::c_interface

#endif  // RUSTY_MALLOC_FUZZ_C_INTERFACE_BLOCK_H_

// Part of malloc_fuzzer: the decoding of sizes, counts and alignments (see
// decode.h), kept byte for byte as the corpora were made with.

#include "fuzz/c_interface/decode.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>

#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing::c_interface {

std::size_t AlignmentServed(std::size_t align) {
  std::size_t served = 16;
  while (served < align) served <<= 1;
  return served;
}

bool IsPowerOfTwo(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

std::size_t DecodeSize(FuzzInput& in) {
  const auto [shape, v] = in.ShapedValue(16);
  if (shape < 6) return v % 256;
  if (shape < 10) return v % 4096;
  if (shape < 12) return v;        // Across the small classes' 32 KiB limit.
  if (shape == 12) return v << 2;  // Up to 256 KiB: the medium heap.
  if (shape == 13) {
    // Edges: class limits, pages, chunks, off by a little either way.
    static constexpr std::size_t kEdges[] = {
        0,       1,         8,         16,        32,
        4096,    32 << 10,  64 << 10,  1 << 20,   4 << 20,
        8 << 20, 128 << 10, 256 << 10, 512 << 10, 16 << 20};
    const std::size_t edge = kEdges[v % std::size(kEdges)];
    const std::size_t delta = (v >> 4) % 33;
    return (v >> 9) % 2 == 0 ? edge + delta : edge - std::min(edge, delta);
  }
  if (shape == 14) return (v % 256) << 12;  // Whole pages, up to 1 MiB.
  static constexpr std::size_t kHuge[] = {SIZE_MAX,
                                          SIZE_MAX - 1,
                                          SIZE_MAX - 4096,
                                          SIZE_MAX / 2,
                                          SIZE_MAX / 2 + 1,
                                          kImpossible,
                                          std::size_t{1} << 47,
                                          (std::size_t{1} << 48) - 16,
                                          std::size_t{1} << 62};
  return std::max(kImpossible, kHuge[v % std::size(kHuge)] - (v >> 8) % 4);
}

std::size_t DecodeCount(FuzzInput& in) {
  const auto [shape, v] = in.ShapedValue(8);
  if (shape < 3) return v % 16;
  if (shape < 5) return v % 1024;
  if (shape == 5) return v;
  if (shape == 6) return SIZE_MAX >> (v % 64);
  return (SIZE_MAX / 2 + 1) >> (v % 32);
}

std::size_t DecodeAlign(FuzzInput& in) {
  const std::uint8_t b = in.Byte();
  if (b < 0xd0) return std::size_t{1} << (b % 17);
  static constexpr std::size_t kOdd[] = {0,
                                         2,
                                         3,
                                         4,
                                         8,
                                         12,
                                         24,
                                         48,
                                         100,
                                         4097,
                                         65535,
                                         std::size_t{1} << 20,
                                         kImpossibleAlign,
                                         kImpossibleAlign << 4,
                                         std::size_t{1} << 62,
                                         SIZE_MAX / 2,
                                         SIZE_MAX / 2 + 1,
                                         SIZE_MAX / 2 + 2,
                                         SIZE_MAX};
  return kOdd[b % std::size(kOdd)];
}

}  // namespace rusty_malloc::fuzzing::c_interface

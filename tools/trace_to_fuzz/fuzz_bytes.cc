#include "tools/trace_to_fuzz/fuzz_bytes.h"

#include <bit>
#include <cstdint>

namespace rusty_malloc::trace_to_fuzz {
namespace {

constexpr std::size_t kUint16Max = 0xffff;

Encoded3 Shaped(int shape, std::size_t value, std::size_t decoded) {
  return {{static_cast<std::uint8_t>(shape), static_cast<std::uint8_t>(value),
           static_cast<std::uint8_t>(value >> 8)},
          decoded};
}

// `value` in units of `unit`, rounded up, as a 16-bit value.
std::size_t Units(std::size_t value, std::size_t unit) {
  return (value + unit - 1) / unit;
}

// The power of two at or above `align`, capped at `most`; its log2.
int Log2AtLeast(std::size_t align, std::size_t most) {
  if (align >= most) return std::countr_zero(most);
  return align <= 1 ? 0 : std::bit_width(align - 1);
}

}  // namespace

Encoded3 ModelSize(std::size_t size) {
  // Shapes (the shape byte modulo 16): 0-5 value % 128, 6-10 % 4096,
  // 11-12 the value, 13-14 value << 4, 15 value << 5.
  if (size < 128) return Shaped(0, size, size);
  if (size < 4096) return Shaped(6, size, size);
  if (size <= kUint16Max) return Shaped(11, size, size);
  if (size <= kUint16Max << 4) {
    return Shaped(13, Units(size, 16), Units(size, 16) << 4);
  }
  const std::size_t units = std::min(Units(size, 32), kUint16Max);
  return Shaped(15, units, units << 5);
}

Encoded1 ModelAlignment(std::size_t align) {
  const int log2 = Log2AtLeast(align, std::size_t{1} << 16);
  return {static_cast<std::uint8_t>(log2), std::size_t{1} << log2};
}

Encoded1 LifecycleAlignment(std::size_t align) {
  const int log2 = Log2AtLeast(align, std::size_t{1} << 12);
  return {static_cast<std::uint8_t>(log2), std::size_t{1} << log2};
}

namespace {

// DecodeSize's shape 13: an edge (the value modulo 15) plus or minus a
// delta ((value >> 4) % 33, minus when bit 9 is set).
std::size_t EdgeSize(std::size_t v) {
  static constexpr std::size_t kEdges[] = {
      0,       1,         8,         16,        32,
      4096,    32 << 10,  64 << 10,  1 << 20,   4 << 20,
      8 << 20, 128 << 10, 256 << 10, 512 << 10, 16 << 20};
  const std::size_t edge = kEdges[v % 15];
  const std::size_t delta = (v >> 4) % 33;
  return (v >> 9) % 2 == 0 ? edge + delta : edge - std::min(edge, delta);
}

}  // namespace

Encoded3 CInterfaceSize(std::size_t size) {
  // Shapes (modulo 16): 0-5 value % 256, 6-9 % 4096, 10-11 the value,
  // 12 value << 2, 13 an edge, 14 (value % 256) pages, 15 must fail.
  if (size < 256) return Shaped(0, size, size);
  if (size < 4096) return Shaped(6, size, size);
  if (size <= kUint16Max) return Shaped(10, size, size);
  if (size <= kUint16Max << 2) {
    return Shaped(12, Units(size, 4), Units(size, 4) << 2);
  }
  if (size <= std::size_t{255} << 12) {
    return Shaped(14, Units(size, 4096), Units(size, 4096) << 12);
  }
  // The smallest edge at or above, else the largest.
  std::size_t best = 0;
  std::size_t largest = 0;
  for (std::size_t v = 0; v <= kUint16Max; ++v) {
    const std::size_t edge = EdgeSize(v);
    if (edge >= size && (EdgeSize(best) < size || edge < EdgeSize(best))) {
      best = v;
    }
    if (edge > EdgeSize(largest)) largest = v;
  }
  if (EdgeSize(best) < size) best = largest;
  return Shaped(13, best, EdgeSize(best));
}

Encoded3 CInterfaceCount(std::size_t count) {
  // Shapes (modulo 8): 0-2 value % 16, 3-4 % 1024, 5 the value.
  if (count < 16) return Shaped(0, count, count);
  if (count < 1024) return Shaped(3, count, count);
  count = std::min(count, kUint16Max);
  return Shaped(5, count, count);
}

Encoded1 CInterfaceAlign(std::size_t align) {
  // Below 0xd0, 1 << (byte % 17); from 0xd0 on, the odd ones, the byte
  // modulo 19 indexing them: 1 MiB is the twelfth.
  if (align > (std::size_t{1} << 16)) return {0xd0 + 12, std::size_t{1} << 20};
  const int log2 = Log2AtLeast(align, std::size_t{1} << 16);
  return {static_cast<std::uint8_t>(log2), std::size_t{1} << log2};
}

}  // namespace rusty_malloc::trace_to_fuzz

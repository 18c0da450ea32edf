#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SIZE_CLASSES_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SIZE_CLASSES_H_

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "allocator/per_thread/chunk.h"

namespace rusty_malloc {

// The sizes the per-thread allocator serves from its threads' own pages:
// 16-byte steps to 128, then four classes per power of two to 256 KiB, so a
// block wastes at most a quarter of itself. Up to kLookupMax a table maps a
// size to its class in one load (malloc's fast path); above it the class is
// computed. Larger sizes go elsewhere.
inline constexpr std::size_t kSmallMax = 256 * 1024;
inline constexpr std::size_t kLookupMax = 32 * 1024;
inline constexpr int kSizeClasses = 8 + 11 * 4;

namespace size_classes_internal {

constexpr std::array<std::uint32_t, kSizeClasses> MakeSizes() {
  std::array<std::uint32_t, kSizeClasses> sizes{};
  int i = 0;
  for (std::uint32_t size = 16; size <= 128; size += 16) sizes[i++] = size;
  for (std::uint32_t base = 128; base < kSmallMax; base *= 2) {
    for (std::uint32_t quarter = 1; quarter <= 4; ++quarter) {
      sizes[i++] = base + base / 4 * quarter;
    }
  }
  return sizes;
}

inline constexpr std::array<std::uint32_t, kSizeClasses> kSizes = MakeSizes();

// The class of every multiple of 16 up to kLookupMax, indexed by size / 16.
constexpr std::array<std::uint8_t, kLookupMax / 16 + 1> MakeLookup() {
  std::array<std::uint8_t, kLookupMax / 16 + 1> lookup{};
  int cls = 0;
  for (std::size_t granules = 0; granules < lookup.size(); ++granules) {
    while (kSizes[cls] < granules * 16) ++cls;
    lookup[granules] = static_cast<std::uint8_t>(cls);
  }
  return lookup;
}

inline constexpr auto kLookup = MakeLookup();

}  // namespace size_classes_internal

// The smallest class whose blocks hold `size` bytes; `size` <= kLookupMax.
constexpr int LookupSizeClass(std::size_t size) {
  return size_classes_internal::kLookup[(size + 15) >> 4];
}

// The smallest class whose blocks hold `size` bytes; `size` <= kSmallMax.
constexpr int SizeClassOf(std::size_t size) {
  if (size <= kLookupMax) return LookupSizeClass(size);
  // Above 128 the classes are base + q * base / 4 for a power of two `base`
  // and q in 1..4: the size's base is the power of two below it.
  const int log = static_cast<int>(std::bit_width(size - 1)) - 1;
  const std::size_t base = std::size_t{1} << log;
  const int quarter = static_cast<int>((size - base - 1) >> (log - 2));
  return 8 + 4 * (log - 7) + quarter;
}

// Divisibility by a block size without a division (Lemire, Kaser and Kurz,
// "Faster remainder by direct computation"): with magic = DivisibilityMagic(d),
// a 32-bit n is a multiple of d exactly when IsMultiple(n, magic). free()
// checks every pointer's offset in its page this way.
constexpr std::uint64_t DivisibilityMagic(std::uint32_t d) {
  return UINT64_MAX / d + 1;
}
constexpr bool IsMultiple(std::uint32_t n, std::uint64_t magic) {
  return std::uint64_t{n} * magic < magic;
}
// n / d for a 32-bit n, with the same magic: a multiplication where a
// division takes tens of cycles (the paper's fastdiv).
constexpr std::uint32_t DivideBy(std::uint32_t n, std::uint64_t magic) {
  return static_cast<std::uint32_t>(
      (static_cast<unsigned __int128>(magic) * n) >> 64);
}
static_assert(DivideBy(0, DivisibilityMagic(48)) == 0 &&
              DivideBy(95, DivisibilityMagic(48)) == 1 &&
              DivideBy(96, DivisibilityMagic(48)) == 2 &&
              DivideBy(UINT32_MAX, DivisibilityMagic(48)) == UINT32_MAX / 48 &&
              DivideBy(UINT32_MAX, DivisibilityMagic(64)) == UINT32_MAX / 64);
static_assert(IsMultiple(0, DivisibilityMagic(48)) &&
              IsMultiple(96, DivisibilityMagic(48)) &&
              !IsMultiple(95, DivisibilityMagic(48)) &&
              !IsMultiple(97, DivisibilityMagic(48)));

// The block size of class `cls`.
constexpr std::size_t ClassSize(int cls) {
  return size_classes_internal::kSizes[cls];
}

// How many of a chunk's pages a page of class `cls` spans (a span: one
// PageInfo, at its first page). Up to half a page, one; above, the fewest
// pages that hold four blocks and waste at most an eighth of themselves.
inline constexpr int kMaxSpanPages = 16;

namespace size_classes_internal {

constexpr std::array<std::uint8_t, kSizeClasses> MakeSpanPages() {
  std::array<std::uint8_t, kSizeClasses> pages{};
  for (int cls = 0; cls < kSizeClasses; ++cls) {
    const std::size_t size = kSizes[cls];
    int n = 1;
    if (2 * size > kPageSize) {
      while (n < kMaxSpanPages) {
        const std::size_t bytes = n * kPageSize;
        if (bytes / size >= 4 && 8 * (bytes % size) <= bytes) break;
        ++n;
      }
    }
    pages[cls] = static_cast<std::uint8_t>(n);
  }
  return pages;
}

inline constexpr auto kSpanPages = MakeSpanPages();

}  // namespace size_classes_internal

constexpr int SpanPagesOf(int cls) {
  return size_classes_internal::kSpanPages[cls];
}

static_assert(ClassSize(kSizeClasses - 1) == kSmallMax);
static_assert(SizeClassOf(0) == 0 && SizeClassOf(16) == 0 &&
              SizeClassOf(17) == 1);
static_assert(ClassSize(SizeClassOf(kLookupMax + 1)) == 40 * 1024 &&
              ClassSize(SizeClassOf(64 * 1024)) == 64 * 1024 &&
              SizeClassOf(kSmallMax) == kSizeClasses - 1);
static_assert(SpanPagesOf(SizeClassOf(kLookupMax)) == 1 &&
              SpanPagesOf(kSizeClasses - 1) == kMaxSpanPages);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SIZE_CLASSES_H_

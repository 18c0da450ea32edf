#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SIZE_CLASSES_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SIZE_CLASSES_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace rusty_malloc {

// The small sizes the per-thread allocator serves from pages of one size:
// 16-byte steps to 128, then four classes per power of two to 32 KiB, so a
// block wastes at most a quarter of itself (and a 64 KiB page still holds
// two of the largest). Larger sizes go elsewhere.
inline constexpr std::size_t kSmallMax = 32 * 1024;
inline constexpr int kSizeClasses = 8 + 8 * 4;

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

// The class of every multiple of 16 up to kSmallMax, indexed by size / 16.
constexpr std::array<std::uint8_t, kSmallMax / 16 + 1> MakeLookup() {
  std::array<std::uint8_t, kSmallMax / 16 + 1> lookup{};
  int cls = 0;
  for (std::size_t granules = 0; granules < lookup.size(); ++granules) {
    while (kSizes[cls] < granules * 16) ++cls;
    lookup[granules] = static_cast<std::uint8_t>(cls);
  }
  return lookup;
}

inline constexpr auto kLookup = MakeLookup();

}  // namespace size_classes_internal

// The smallest class whose blocks hold `size` bytes; `size` <= kSmallMax.
constexpr int SizeClassOf(std::size_t size) {
  return size_classes_internal::kLookup[(size + 15) >> 4];
}

// The block size of class `cls`.
constexpr std::size_t ClassSize(int cls) {
  return size_classes_internal::kSizes[cls];
}

static_assert(ClassSize(kSizeClasses - 1) == kSmallMax);
static_assert(SizeClassOf(0) == 0 && SizeClassOf(16) == 0 &&
              SizeClassOf(17) == 1);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SIZE_CLASSES_H_

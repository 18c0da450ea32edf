#ifndef RUSTY_MALLOC_TESTS_PATTERNS_H_
#define RUSTY_MALLOC_TESTS_PATTERNS_H_

#include <cstddef>
#include <cstdint>

namespace rusty_malloc::testing {

// Fills [p, p + n) with bytes derived from `id` and each byte's offset, so a
// block overwritten by, or swapped with, another block is caught by
// FirstPatternMismatch.
inline void FillPattern(void* p, std::size_t n, std::uint64_t id) {
  auto* bytes = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    bytes[i] =
        static_cast<unsigned char>((id * 0x9e3779b97f4a7c15ULL + i) >> 3 ^ i);
  }
}

// The offset of the first byte in [p, p + n) that FillPattern(p, n, id)
// would not have written, or n when there is none.
inline std::size_t FirstPatternMismatch(const void* p, std::size_t n,
                                        std::uint64_t id) {
  const auto* bytes = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) {
    if (bytes[i] !=
        static_cast<unsigned char>((id * 0x9e3779b97f4a7c15ULL + i) >> 3 ^ i)) {
      return i;
    }
  }
  return n;
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTS_PATTERNS_H_

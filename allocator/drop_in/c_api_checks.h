#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_CHECKS_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_CHECKS_H_

// The C allocation interface's argument checks and size rules, as pure
// functions so they can be tested (and read) apart from the wrappers that
// set errno (c_api.h).

#include <bit>
#include <cstddef>
#include <cstdint>

#include "allocator/common/check.h"

namespace rusty_malloc::c_api {

// What malloc guarantees: alignof(max_align_t) on x86-64.
inline constexpr std::size_t kMallocAlignment = 16;
inline constexpr std::size_t kNewAlignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

// calloc and reallocarray: true when count * size is not representable.
[[nodiscard]] constexpr bool MultiplyOverflows(std::size_t count,
                                               std::size_t size,
                                               std::size_t* product) {
  return __builtin_mul_overflow(count, size, product);
}

[[nodiscard]] constexpr bool IsPowerOfTwo(std::size_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

// C11 aligned_alloc: glibc takes any power of two (EINVAL otherwise), with
// no requirement that the size be a multiple of it.
[[nodiscard]] constexpr bool IsValidAlignedAllocAlignment(std::size_t align) {
  return IsPowerOfTwo(align);
}

// POSIX: a power of two and a multiple of sizeof(void*), else EINVAL.
[[nodiscard]] constexpr bool IsValidPosixMemalignAlignment(std::size_t align) {
  return IsPowerOfTwo(align) && align % sizeof(void*) == 0;
}

// memalign's only refusal: an alignment whose next power of two does not
// exist.
[[nodiscard]] constexpr bool IsRoundableAlignment(std::size_t align) {
  return align <= (SIZE_MAX >> 1) + 1;
}

// memalign's rule: a non-power-of-two alignment rounds up to one, and
// nothing is less aligned than malloc. Requires IsRoundableAlignment.
[[nodiscard]] constexpr std::size_t RoundedAlignment(std::size_t align) {
  RUSTY_MALLOC_DCHECK(IsRoundableAlignment(align), nullptr);
  if ((align & (align - 1)) != 0) align = std::bit_ceil(align);
  return align < kMallocAlignment ? kMallocAlignment : align;
}

// pvalloc: true when rounding `size` up to a page would overflow.
[[nodiscard]] constexpr bool PageRoundingOverflows(std::size_t size,
                                                   std::size_t page) {
  return size > SIZE_MAX - page;
}

// pvalloc's size: whole pages, at least one. Requires !PageRoundingOverflows.
[[nodiscard]] constexpr std::size_t PageRoundedSize(std::size_t size,
                                                    std::size_t page) {
  RUSTY_MALLOC_DCHECK(!PageRoundingOverflows(size, page), nullptr);
  return size == 0 ? page : (size + page - 1) / page * page;
}

}  // namespace rusty_malloc::c_api

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_CHECKS_H_

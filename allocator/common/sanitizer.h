#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_SANITIZER_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_SANITIZER_H_

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define RUSTY_MALLOC_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RUSTY_MALLOC_HAS_ASAN 1
#endif
#endif

#ifdef RUSTY_MALLOC_HAS_ASAN
#include <sanitizer/asan_interface.h>
#endif

// Heap metadata (headers, free-list links, footers) stays poisoned under ASan
// so that clients touching it are reported. The few functions that read or
// write metadata carry this attribute; nothing else may touch it.
#define RUSTY_MALLOC_METADATA_ACCESS __attribute__((no_sanitize("address")))

// Walks whose every step would call the fuzzing engine's coverage hooks: a
// first-fit search and the checkers' walks. Their edges and compares only
// count how long a list or heap is, which tells libFuzzer nothing the
// operations around them do not, and the hooks cost more than the walk (a
// third of raw_malloc_fuzzer's time). Sanitizer checks inside them stay.
#if defined(__clang__)
#define RUSTY_MALLOC_UNCOVERED_WALK __attribute__((no_sanitize("coverage")))
#elif defined(__GNUC__)
#define RUSTY_MALLOC_UNCOVERED_WALK __attribute__((no_sanitize_coverage))
#else
#define RUSTY_MALLOC_UNCOVERED_WALK
#endif

namespace rusty_malloc {

inline constexpr bool kAsanPoisoning =
#ifdef RUSTY_MALLOC_HAS_ASAN
    true;
#else
    false;
#endif

// Marks [p, p + n) as off-limits to the client. `p` and `n` are multiples of
// 8, ASan's shadow granule; block boundaries always are.
inline void Poison(const void* p, std::size_t n) {
#ifdef RUSTY_MALLOC_HAS_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// Marks [p, p + n) as client memory again.
inline void Unpoison(const void* p, std::size_t n) {
#ifdef RUSTY_MALLOC_HAS_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

// Whether any byte of [p, p + n) is poisoned: one shadow scan, for code that
// checks a whole client block at once instead of instrumenting each access.
inline bool AnyPoisoned(const void* p, std::size_t n) {
#ifdef RUSTY_MALLOC_HAS_ASAN
  return __asan_region_is_poisoned(const_cast<void*>(p), n) != nullptr;
#else
  (void)p;
  (void)n;
  return false;
#endif
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_SANITIZER_H_

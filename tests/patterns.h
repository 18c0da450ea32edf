#ifndef RUSTY_MALLOC_TESTS_PATTERNS_H_
#define RUSTY_MALLOC_TESTS_PATTERNS_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "allocator/sanitizer.h"

namespace rusty_malloc::testing {

namespace patterns_internal {

// The pattern's word at byte offset 8 * k of block `id`: an xor of a
// per-block seed and a per-offset term, so another block's contents, or
// these contents moved by a word, do not match.
__attribute__((always_inline)) inline std::uint64_t Seed(std::uint64_t id) {
  return (id + 1) * 0x9e3779b97f4a7c15ULL;
}
__attribute__((always_inline)) inline std::uint64_t Word(std::uint64_t seed,
                                                         std::size_t k) {
  return seed ^ (k + 1) * 0xff51afd7ed558ccdULL;
}

// A block whose bytes ASan would report, named before the pattern loops
// run without ASan's per-access checks.
inline void RequireClientMemory(const void* p, std::size_t n) {
  if (AnyPoisoned(p, n)) {
    std::fprintf(stderr,
                 "heap check failed: block %p (%zu bytes) is poisoned\n", p, n);
    std::abort();
  }
}

}  // namespace patterns_internal

// Pattern loops touch megabytes per fuzz input. They run without coverage
// callbacks (the compares teach the fuzzer nothing) and without ASan's
// per-access checks, which RequireClientMemory replaces with one shadow
// scan per block; together those cost more than the rest of an input. Not
// inlined, or the caller's instrumentation would apply.
#if defined(__clang__)
#define RUSTY_MALLOC_PATTERN_LOOP \
  __attribute__((no_sanitize("coverage", "address"), noinline))
#else
#define RUSTY_MALLOC_PATTERN_LOOP __attribute__((no_sanitize("address")))
#endif

namespace patterns_internal {

// The word after `k` that a pattern with `stride` covers, of `words`: every
// word at stride 1; otherwise the first two (where a free block's links
// go), every stride-th, and the last.
inline std::size_t NextWord(std::size_t k, std::size_t words,
                            std::size_t stride) {
  if (stride == 1 || k == 0) return k + 1;
  const std::size_t next = (k / stride + 1) * stride;
  return next < words || k + 1 == words ? next : words - 1;
}

}  // namespace patterns_internal

// Fills [p, p + n) with bytes derived from `id` and each byte's offset, so a
// block overwritten by, or swapped with, another block is caught by
// FirstPatternMismatch. `p` need not be aligned. A `stride` above 1 writes
// only the words NextWord visits and the bytes past the last whole word:
// for harnesses that hold megabytes per input and check where an allocator
// writes (a block's first words) plus a sample of the rest.
RUSTY_MALLOC_PATTERN_LOOP inline void FillPattern(void* p, std::size_t n,
                                                  std::uint64_t id,
                                                  std::size_t stride = 1) {
  patterns_internal::RequireClientMemory(p, n);
  auto* bytes = static_cast<unsigned char*>(p);
  const std::uint64_t seed = patterns_internal::Seed(id);
  const std::size_t words = n / 8;
  for (std::size_t k = 0; k < words;
       k = patterns_internal::NextWord(k, words, stride)) {
    const std::uint64_t word = patterns_internal::Word(seed, k);
    std::memcpy(bytes + 8 * k, &word, 8);
  }
  const std::uint64_t tail = patterns_internal::Word(seed, words);
  std::memcpy(bytes + 8 * words, &tail, n - 8 * words);
}

// The offset of the first byte in [p, p + n) that FillPattern(p, n, id,
// stride) would not have written, or n when there is none.
RUSTY_MALLOC_PATTERN_LOOP inline std::size_t FirstPatternMismatch(
    const void* p, std::size_t n, std::uint64_t id, std::size_t stride = 1) {
  patterns_internal::RequireClientMemory(p, n);
  const auto* bytes = static_cast<const unsigned char*>(p);
  const std::uint64_t seed = patterns_internal::Seed(id);
  // Little-endian: the lowest differing byte comes first in memory.
  const auto first_difference = [](std::uint64_t a, std::uint64_t b) {
    return static_cast<std::size_t>(__builtin_ctzll(a ^ b)) / 8;
  };
  const std::size_t words = n / 8;
  for (std::size_t k = 0; k < words;
       k = patterns_internal::NextWord(k, words, stride)) {
    const std::uint64_t want = patterns_internal::Word(seed, k);
    std::uint64_t have;
    std::memcpy(&have, bytes + 8 * k, 8);
    if (have != want) return 8 * k + first_difference(have, want);
  }
  const std::size_t tail = n - 8 * words;
  if (tail == 0) return n;
  std::uint64_t want = patterns_internal::Word(seed, words);
  std::uint64_t have = 0;
  std::memcpy(&have, bytes + 8 * words, tail);
  want &= (std::uint64_t{1} << (8 * tail)) - 1;
  return have == want ? n : 8 * words + first_difference(have, want);
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTS_PATTERNS_H_

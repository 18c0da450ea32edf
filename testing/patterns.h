#ifndef RUSTY_MALLOC_TESTING_PATTERNS_H_
#define RUSTY_MALLOC_TESTING_PATTERNS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "allocator/common/sanitizer.h"

namespace rusty_malloc::testing {

// The pattern loops' helpers: inlined into them, with their
// instrumentation (see RUSTY_MALLOC_PATTERN_LOOP below).
#if defined(__clang__)
#define RUSTY_MALLOC_PATTERN_STEP \
  __attribute__((no_sanitize("coverage", "address"), always_inline))
#else
#define RUSTY_MALLOC_PATTERN_STEP __attribute__((no_sanitize("address")))
#endif

namespace patterns_internal {

// The pattern's word at byte offset 8 * k of block `id`: an xor of a
// per-block seed and a per-offset term, so another block's contents, or
// these contents moved by a word, do not match.
RUSTY_MALLOC_PATTERN_STEP inline std::uint64_t Seed(std::uint64_t id) {
  return (id + 1) * 0x9e3779b97f4a7c15ULL;
}
inline constexpr std::uint64_t kTermStep = 0xff51afd7ed558ccdULL;
RUSTY_MALLOC_PATTERN_STEP inline std::uint64_t Word(std::uint64_t seed,
                                                    std::size_t k) {
  return seed ^ (k + 1) * kTermStep;
}

// Four consecutive words of the pattern at a time, for the stride-1 loops:
// the fuzzers fill and check megabytes per input, and sanitizer builds run
// at -O1, which does not vectorise loops by itself.
// (Never passed or returned by value: g++ would warn of an ABI change.)
using Words4 = std::uint64_t __attribute__((vector_size(32)));
inline constexpr Words4 kFirstTerms4 = {kTermStep, 2 * kTermStep, 3 * kTermStep,
                                        4 * kTermStep};
inline constexpr Words4 kTermStep4 = {4 * kTermStep, 4 * kTermStep,
                                      4 * kTermStep, 4 * kTermStep};

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
RUSTY_MALLOC_PATTERN_STEP inline std::size_t NextWord(std::size_t k,
                                                      std::size_t words,
                                                      std::size_t stride) {
  if (stride == 1 || k == 0) return k + 1;
  const std::size_t next = (k / stride + 1) * stride;
  return next < words || k + 1 == words ? next : words - 1;
}

}  // namespace patterns_internal

namespace patterns_internal {

// Whether the pattern with `stride` over `words` whole words writes word k.
RUSTY_MALLOC_PATTERN_STEP inline bool Written(std::size_t k, std::size_t words,
                                              std::size_t stride) {
  return stride == 1 || k < 2 || k % stride == 0 || k + 1 == words;
}

// The offset of the first of the `length` (1 to 8) bytes at word `k` that
// differ from the pattern, or SIZE_MAX. Whole words are one load; a
// partial one goes byte by byte, since a memcpy of variable length would
// be a call into ASan's interceptor.
RUSTY_MALLOC_PATTERN_STEP inline std::size_t Mismatch(
    const unsigned char* bytes, std::uint64_t seed, std::size_t k,
    std::size_t length) {
  const std::uint64_t want = Word(seed, k);
  if (length == 8) {
    std::uint64_t have;
    std::memcpy(&have, bytes + 8 * k, 8);
    if (have == want) return SIZE_MAX;
    // Little-endian: the lowest differing byte comes first in memory.
    return 8 * k + static_cast<std::size_t>(__builtin_ctzll(have ^ want)) / 8;
  }
  for (std::size_t i = 0; i < length; ++i) {
    if (bytes[8 * k + i] != static_cast<unsigned char>(want >> (8 * i))) {
      return 8 * k + i;
    }
  }
  return SIZE_MAX;
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
  std::size_t k = 0;
  if (stride == 1) {
    patterns_internal::Words4 terms = patterns_internal::kFirstTerms4;
    for (; k + 4 <= words; k += 4, terms += patterns_internal::kTermStep4) {
      const patterns_internal::Words4 four = seed ^ terms;
      std::memcpy(bytes + 8 * k, &four, sizeof(four));
    }
  }
  for (; k < words; k = patterns_internal::NextWord(k, words, stride)) {
    const std::uint64_t word = patterns_internal::Word(seed, k);
    std::memcpy(bytes + 8 * k, &word, 8);
  }
  const std::uint64_t tail = patterns_internal::Word(seed, words);
  for (std::size_t i = 0; 8 * words + i < n; ++i) {
    bytes[8 * words + i] = static_cast<unsigned char>(tail >> (8 * i));
  }
}

// The offset of the first byte in [p, p + n) that FillPattern(p, filled,
// id, stride) wrote and `p` does not hold, or n when there is none. `n` is
// at most `filled`: a block shrunk by realloc is checked against the
// pattern it was filled with.
RUSTY_MALLOC_PATTERN_LOOP inline std::size_t FirstPatternMismatch(
    const void* p, std::size_t n, std::uint64_t id, std::size_t stride = 1,
    std::size_t filled = SIZE_MAX) {
  if (filled == SIZE_MAX) filled = n;
  patterns_internal::RequireClientMemory(p, n);
  const auto* bytes = static_cast<const unsigned char*>(p);
  const std::uint64_t seed = patterns_internal::Seed(id);
  const std::size_t words = filled / 8;
  const std::size_t whole = n / 8 < words ? n / 8 : words;
  std::size_t k = 0;
  if (stride == 1) {
    patterns_internal::Words4 terms = patterns_internal::kFirstTerms4;
    for (; k + 4 <= whole; k += 4, terms += patterns_internal::kTermStep4) {
      patterns_internal::Words4 have;
      std::memcpy(&have, bytes + 8 * k, sizeof(have));
      const patterns_internal::Words4 diff = have ^ (seed ^ terms);
      if ((diff[0] | diff[1] | diff[2] | diff[3]) != 0) break;
    }
  }
  for (; k < whole; k = patterns_internal::NextWord(k, words, stride)) {
    const std::size_t at = patterns_internal::Mismatch(bytes, seed, k, 8);
    if (at != SIZE_MAX) return at;
  }
  // The bytes past the last whole word of [p, p + n): part of a word the
  // pattern may have skipped, or the pattern's own tail.
  const std::size_t rest = n - 8 * whole;
  if (rest > 0 &&
      (whole == words || patterns_internal::Written(whole, words, stride))) {
    const std::size_t at =
        patterns_internal::Mismatch(bytes, seed, whole, rest);
    if (at != SIZE_MAX) return at;
  }
  return n;
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_PATTERNS_H_

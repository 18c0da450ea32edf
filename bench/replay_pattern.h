#ifndef RUSTY_MALLOC_BENCH_REPLAY_PATTERN_H_
#define RUSTY_MALLOC_BENCH_REPLAY_PATTERN_H_

// The pattern the replayer (replay.h) keeps in every block: a byte derived
// from the block's id and the position, at the block's first and last byte
// and every 4096th in between. A full memset would cost more than most of
// the calls replayed; one byte a page still catches a block handed out
// twice, overlapping another, or not copied by realloc, and it touches
// every page of the block, as the program that was recorded would have.

#include <cstddef>
#include <cstdint>

namespace rusty_malloc::replay {

inline constexpr std::size_t kPatternStride = 4096;

// Never 0, so that a block reading as zeros (fresh memory, calloc) never
// matches.
[[nodiscard]] inline unsigned char PatternByte(std::uint64_t id,
                                               std::size_t position) {
  std::uint64_t x = id * 0x9e3779b97f4a7c15u;
  x ^= (position + 1) * 0xc2b2ae3d27d4eb4fu;
  x ^= x >> 31;
  const auto byte = static_cast<unsigned char>(x >> 56);
  return byte == 0 ? 0xa5 : byte;
}

// Calls f(position) for each sampled position of an n-byte block that lies
// below `limit`.
template <typename F>
void ForEachSample(std::size_t n, std::size_t limit, F f) {
  if (n == 0) return;
  for (std::size_t at = 0; at < n - 1 && at < limit; at += kPatternStride) {
    f(at);
  }
  if (n - 1 < limit) f(n - 1);
}

inline void WritePattern(void* block, std::size_t n, std::uint64_t id) {
  auto* bytes = static_cast<unsigned char*>(block);
  ForEachSample(n, n, [&](std::size_t at) { bytes[at] = PatternByte(id, at); });
}

// How many of the sampled positions below `limit` of an n-byte block do
// not hold block `id`'s pattern.
[[nodiscard]] inline std::size_t PatternMismatches(const void* block,
                                                   std::size_t n,
                                                   std::size_t limit,
                                                   std::uint64_t id) {
  const auto* bytes = static_cast<const unsigned char*>(block);
  std::size_t mismatches = 0;
  ForEachSample(n, limit, [&](std::size_t at) {
    mismatches += bytes[at] != PatternByte(id, at) ? 1 : 0;
  });
  return mismatches;
}

// How many of the sampled positions of an n-byte block are not zero.
[[nodiscard]] inline std::size_t NonZeroSamples(const void* block,
                                                std::size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(block);
  std::size_t non_zero = 0;
  ForEachSample(n, n, [&](std::size_t at) { non_zero += bytes[at] != 0; });
  return non_zero;
}

}  // namespace rusty_malloc::replay

#endif  // RUSTY_MALLOC_BENCH_REPLAY_PATTERN_H_

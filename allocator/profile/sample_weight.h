#ifndef RUSTY_MALLOC_ALLOCATOR_PROFILE_SAMPLE_WEIGHT_H_
#define RUSTY_MALLOC_ALLOCATOR_PROFILE_SAMPLE_WEIGHT_H_

#include <cmath>
#include <cstddef>

// What one sampled allocation stands for, tcmalloc's unbiasing of byte
// sampling. The sampler picks points in the stream of allocated bytes at
// exponentially distributed distances, mean `interval_bytes` (a Poisson
// process), and samples an allocation when a point falls in its bytes. An
// allocation of s bytes is then sampled with probability
// p = 1 - exp(-s / interval_bytes): small ones rarely, those far above the
// interval almost always. Counting each sample as 1/p allocations and s/p
// bytes makes the sums over samples unbiased estimates of what was
// allocated: the expectation of the count each allocation contributes is
// p * (1/p) = 1, whatever its size. The bytes weighed must be the bytes the
// sampler counted toward its interval (requested or usable: the same in
// both places), or the estimates are biased by the difference.

namespace rusty_malloc {

// The probability that an allocation of `bytes` is sampled. An interval of
// 0 or less means every allocation is (p = 1); 0 bytes are never (p = 0).
inline double SampleProbability(std::size_t bytes, double interval_bytes) {
  if (interval_bytes <= 0) return 1.0;
  // expm1 keeps the precision of s / interval when it is tiny, where
  // 1 - exp(x) would cancel to a few significant bits.
  return -std::expm1(-static_cast<double>(bytes) / interval_bytes);
}

// What one sample stands for: `count` allocations (1/p) and `bytes` bytes
// (s/p), which is about the interval for allocations much smaller than it
// and about s for those much larger.
struct SampleWeight {
  double count = 0;
  double bytes = 0;
};

// The weight of a sampled allocation of `bytes`. One of 0 bytes (which a
// byte sampler never takes) counts as one of 1 byte, so that its count
// stays finite; it stands for no bytes.
inline SampleWeight WeighSample(std::size_t bytes, double interval_bytes) {
  const double count =
      1.0 / SampleProbability(bytes == 0 ? 1 : bytes, interval_bytes);
  return {count, static_cast<double>(bytes) * count};
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PROFILE_SAMPLE_WEIGHT_H_

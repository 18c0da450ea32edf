#ifndef RUSTY_MALLOC_ALLOCATOR_PROFILE_SAMPLE_WEIGHT_H_
#define RUSTY_MALLOC_ALLOCATOR_PROFILE_SAMPLE_WEIGHT_H_

#include <bit>
#include <cstddef>
#include <cstdint>

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

// 1 - exp(-x) for x >= 0, to about 1e-15 relative, without libm (the
// drop-in links none). A series where x is small, so that the precision of
// x survives (1 - exp(-x) would cancel to a few bits); else exp(x) by
// 2^k * exp(r), r = x - k ln 2 in [0, ln 2), r's series converging fast.
inline double OneMinusExpNegative(double x) {
  if (x <= 0) return 0;
  if (x >= 50) return 1;
  if (x < 0.5) {
    // x - x^2/2! + x^3/3! - ...: 16 terms leave under 0.5^17 / 17!.
    double term = x;
    double sum = x;
    for (int n = 2; n <= 16; ++n) {
      term *= -x / n;
      sum += term;
    }
    return sum;
  }
  constexpr double kLn2 = 0.6931471805599453;
  const int k = static_cast<int>(x / kLn2);
  const double r = x - k * kLn2;
  double term = 1;
  double exp_r = 1;
  for (int n = 1; n <= 18; ++n) {
    term *= r / n;
    exp_r += term;
  }
  const double two_to_k =
      std::bit_cast<double>(static_cast<std::uint64_t>(1023 + k) << 52);
  return 1 - 1 / (exp_r * two_to_k);
}

// The probability that an allocation of `bytes` is sampled. An interval of
// 0 or less means every allocation is (p = 1); 0 bytes are never (p = 0).
inline double SampleProbability(std::size_t bytes, double interval_bytes) {
  if (interval_bytes <= 0) return 1.0;
  return OneMinusExpNegative(static_cast<double>(bytes) / interval_bytes);
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

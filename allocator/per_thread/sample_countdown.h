#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SAMPLE_COUNTDOWN_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SAMPLE_COUNTDOWN_H_

#include <bit>
#include <cstddef>
#include <cstdint>

namespace rusty_malloc {

// Bytes to allocate before the next sampled allocation, drawn from an
// exponential distribution with a given mean (as tcmalloc samples): every
// byte has the same chance of being the one sampled, so a block of s bytes
// is sampled with probability 1 - exp(-s / mean) whatever came before it,
// and an estimate scaled by the inverse of that is unbiased. One per thread
// heap; no lock, no allocation.
class SampleCountdown {
 public:
  // `seed` distinguishes heaps; any value, zero included, works.
  explicit constexpr SampleCountdown(std::uint64_t seed = 0)
      : state_(seed * 0x9e3779b97f4a7c15u + 0x2545f4914f6cdd1du) {}

  // Bytes left before the sample; <= 0: the allocation that brought it
  // there is the sampled one.
  std::int64_t left() const { return left_; }
  // Counts `bytes` handed out; true when they reach the sample point.
  bool Take(std::int64_t bytes) { return (left_ -= bytes) <= 0; }
  // Starts the next interval, of mean `mean_bytes` (> 0).
  void Restart(std::size_t mean_bytes) { left_ = Draw(mean_bytes); }
  // Whether Restart has run since construction.
  bool started() const { return started_; }
  void set_started() { started_ = true; }

  // One draw: at least 1 byte, at most 40 times the mean (a cap that a
  // draw passes once in e^40).
  std::int64_t Draw(std::size_t mean_bytes) {
    // xorshift64*: a period of 2^64 - 1 and no state but one word.
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    const std::uint64_t bits = state_ * 0x2545f4914f6cdd1du;
    // Uniform in (0, 1]: 53 bits, never 0, so the log is finite.
    const double u = static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
    const double draw = -Log(u) * static_cast<double>(mean_bytes);
    const double cap = 40.0 * static_cast<double>(mean_bytes);
    return static_cast<std::int64_t>(draw < cap ? draw : cap) + 1;
  }

 private:
  // The natural log of a positive normal `x`, to about 1e-6: the drop-in may
  // not need libm. x = 2^e * m with m in [1, 2), and ln m = 2 atanh(z) with
  // z = (m - 1) / (m + 1) at most 1/3, whose series converges fast.
  static double Log(double x) {
    const auto bits = std::bit_cast<std::uint64_t>(x);
    const int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
    const double m = std::bit_cast<double>(
        (bits & ((std::uint64_t{1} << 52) - 1)) | (std::uint64_t{1023} << 52));
    const double z = (m - 1) / (m + 1);
    const double z2 = z * z;
    const double series =
        z * (1 + z2 * (1.0 / 3 + z2 * (1.0 / 5 + z2 * (1.0 / 7 + z2 / 9))));
    return e * 0.6931471805599453 + 2 * series;
  }

  std::uint64_t state_;
  std::int64_t left_ = 0;
  bool started_ = false;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SAMPLE_COUNTDOWN_H_

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
//
// Paced by a budget of time: it starts at kInitialBudgetNs, earns 1/share
// of the time that passes between samples (up to kMaxBudgetNs) and pays
// what each sample costs. While it lasts, each interval is of the mean
// asked; once spent, the mean doubled as many times as it takes for
// samples to cost at most 1/share of the thread's time, from moving
// averages of what a sample costs and of how long an interval of the mean
// asked lasts. A thread allocating gigabytes a second is then sampled less
// often rather than slowed down, a run of any length spends at most
// kInitialBudgetNs plus 1/share of its time on samples, and estimates stay
// unbiased: each sample is weighed by the interval it ended, which only
// the past decided.
class SampleCountdown {
 public:
  // `seed` distinguishes heaps; any value, zero included, works.
  explicit constexpr SampleCountdown(std::uint64_t seed = 0)
      : state_(seed * 0x9e3779b97f4a7c15u + 0x2545f4914f6cdd1du) {}

  // Bytes left before the sample; <= 0: the allocation that brought it
  // there is the sampled one, and Restart is due (0 at first).
  std::int64_t left() const { return left_; }
  // Counts `bytes` handed out; true when they reach the sample point.
  bool Take(std::int64_t bytes) { return (left_ -= bytes) <= 0; }
  // Starts the next interval: of mean `mean_bytes` (> 0) as paced.
  void Restart(std::size_t mean_bytes) {
    drawn_stretch_ = stretch_;
    drawn_from_ = Interval(mean_bytes);
    left_ = Draw(drawn_from_);
  }
  // The mean of the interval under way: the one a sample at its end is
  // weighed by.
  [[nodiscard]] std::size_t drawn_from() const { return drawn_from_; }
  // The mean interval Restart draws from now, `mean_bytes` paced.
  [[nodiscard]] std::size_t Interval(std::size_t mean_bytes) const {
    return mean_bytes > (kMaxInterval >> stretch_) ? kMaxInterval
                                                   : mean_bytes << stretch_;
  }
  // Charges the sample that ended the interval under way, at `now_ns`
  // after `cost_ns` of work, with sampling allowed 1/`share` of the time
  // (0: unpaced). Any clock that does not go back within a thread: the
  // drop-in's is the thread's CPU time. Then Restart.
  void Pace(std::int64_t now_ns, std::int64_t cost_ns, std::uint32_t share) {
    if (share == 0) {
      stretch_ = 0;
      return;
    }
    // A clock behind the last sample's: a heap adopted by a thread whose
    // CPU clock started later. Its gap says nothing.
    if (last_ns_ >= 0 && now_ns >= last_ns_) {
      // How long an interval of the mean asked took; a gap after a long
      // idle spell counts as at most 16 times the average, so that it does
      // not unpace the next few dozen samples.
      double gap = static_cast<double>(now_ns - last_ns_) /
                   static_cast<double>(std::uint64_t{1} << drawn_stretch_);
      if (gap_ns_ > 0 && gap > 16 * gap_ns_) gap = 16 * gap_ns_;
      gap_ns_ = gap_ns_ == 0 ? gap : gap_ns_ + (gap - gap_ns_) / 16;
      budget_ns_ += (now_ns - last_ns_) / share;
      if (budget_ns_ > kMaxBudgetNs) budget_ns_ = kMaxBudgetNs;
    }
    cost_ns += pending_ns_;
    pending_ns_ = 0;
    const auto cost = static_cast<double>(cost_ns);
    cost_ns_ = cost_ns_ == 0 ? cost : cost_ns_ + (cost - cost_ns_) / 16;
    last_ns_ = now_ns;
    budget_ns_ -= cost_ns;
    if (budget_ns_ > 0 || gap_ns_ <= 0) {
      stretch_ = 0;
      return;
    }
    // The least doubling with cost * share <= gap * 2^stretch.
    const double need = cost_ns_ * share / gap_ns_;
    int stretch = 0;
    while (stretch < kMaxStretch &&
           static_cast<double>(std::uint64_t{1} << stretch) < need) {
      ++stretch;
    }
    stretch_ = stretch;
  }
  // Adds `ns` of work done for samples elsewhere (freeing one) to what the
  // next Pace charges.
  void Charge(std::int64_t ns) {
    if (ns > 0) pending_ns_ += ns;
  }
  // How many times the interval has been doubled by pacing.
  [[nodiscard]] int stretch() const { return stretch_; }

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

  // Some 25 guarded samples (one costs about 10 us, its free included):
  // more than a test or a short program takes. A fixed cost per heap, so
  // small: it is 0.4% of a run of 60 ms.
  static constexpr std::int64_t kInitialBudgetNs = 250'000;
  // What a thread idle for a while may spend at once.
  static constexpr std::int64_t kMaxBudgetNs = 1'000'000;
  // 2 MiB doubled 16 times: 128 GiB, a sample every few seconds at the
  // fastest rate a thread allocates.
  static constexpr int kMaxStretch = 16;
  // Far below where 40 times it overflows a std::int64_t.
  static constexpr std::size_t kMaxInterval = std::size_t{1} << 50;

  std::uint64_t state_;
  std::int64_t left_ = 0;
  std::size_t drawn_from_ = 0;
  std::int64_t budget_ns_ = kInitialBudgetNs;  // <= 0: paced.
  std::int64_t last_ns_ = -1;    // The last sample's end; -1: none yet.
  double gap_ns_ = 0;            // Moving average; 0: none yet.
  double cost_ns_ = 0;           // Moving average; 0: none yet.
  std::int64_t pending_ns_ = 0;  // Charged, for the next Pace.
  int stretch_ = 0;
  int drawn_stretch_ = 0;  // The interval under way's.
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_SAMPLE_COUNTDOWN_H_

#include "allocator/profile/sample_weight.h"

#include <cmath>
#include <cstddef>
#include <random>

#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

constexpr double kInterval = 512 * 1024;

TEST(SampleWeightTest, ProbabilityIsOneMinusExpOfSizeOverInterval) {
  for (const std::size_t bytes : {1u, 16u, 4096u, 524288u, 8u << 20}) {
    // Within 1 - exp's own rounding, which loses digits as p shrinks.
    const double p = 1 - std::exp(-static_cast<double>(bytes) / kInterval);
    EXPECT_NEAR(SampleProbability(bytes, kInterval), p, 1e-9 * p) << bytes;
  }
  EXPECT_EQ(SampleProbability(0, kInterval), 0.0);
}

TEST(SampleWeightTest, ProbabilityKeepsItsPrecisionForTinySizes) {
  // 1 - exp(-x) would cancel to 1.1102e-16 multiples here.
  EXPECT_NEAR(SampleProbability(1, 1e12), 1e-12, 1e-24);
}

TEST(SampleWeightTest, WeightIsTheInverseOfTheProbability) {
  for (const std::size_t bytes : {1u, 100u, 4096u, 65536u, 1u << 20}) {
    const double p = SampleProbability(bytes, kInterval);
    const SampleWeight weight = WeighSample(bytes, kInterval);
    EXPECT_DOUBLE_EQ(weight.count, 1 / p) << bytes;
    EXPECT_DOUBLE_EQ(weight.bytes, static_cast<double>(bytes) / p) << bytes;
  }
}

TEST(SampleWeightTest, SmallSamplesStandForAboutTheInterval) {
  // 1/p = 1 / (1 - exp(-s/T)) = T/s + 1/2 + O(s/T): s/p -> T + s/2.
  for (const std::size_t bytes : {1u, 16u, 256u}) {
    const SampleWeight weight = WeighSample(bytes, kInterval);
    EXPECT_NEAR(weight.bytes, kInterval + static_cast<double>(bytes) / 2, 1)
        << bytes;
    EXPECT_NEAR(weight.count, kInterval / static_cast<double>(bytes) + 0.5,
                0.01)
        << bytes;
  }
}

TEST(SampleWeightTest, LargeSamplesStandForThemselves) {
  const std::size_t bytes = 64 * static_cast<std::size_t>(kInterval);
  const SampleWeight weight = WeighSample(bytes, kInterval);
  EXPECT_DOUBLE_EQ(weight.count, 1.0);
  EXPECT_DOUBLE_EQ(weight.bytes, static_cast<double>(bytes));
  // At the interval itself: 1 / (1 - 1/e).
  EXPECT_DOUBLE_EQ(
      WeighSample(static_cast<std::size_t>(kInterval), kInterval).count,
      1 / (1 - std::exp(-1.0)));
}

TEST(SampleWeightTest, NoIntervalSamplesEverything) {
  for (const double interval : {0.0, -1.0}) {
    EXPECT_EQ(SampleProbability(100, interval), 1.0);
    const SampleWeight weight = WeighSample(100, interval);
    EXPECT_EQ(weight.count, 1.0);
    EXPECT_EQ(weight.bytes, 100.0);
  }
}

TEST(SampleWeightTest, ZeroBytesWeighAsOneByteAndStandForNoBytes) {
  const SampleWeight weight = WeighSample(0, kInterval);
  EXPECT_DOUBLE_EQ(weight.count, WeighSample(1, kInterval).count);
  EXPECT_EQ(weight.bytes, 0.0);
}

// The estimate is unbiased: a Poisson sampler over a stream of mixed sizes
// (each allocation sampled when a point falls in its bytes; after a sample
// the next point is drawn afresh, which the exponential's lack of memory
// makes the same process), weighed, sums to about what was allocated of
// each size, within a few standard errors: sqrt((1 - p) / (n p)) of the
// truth, relative, for n allocations sampled with probability p.
TEST(SampleWeightTest, WeighedSamplesEstimateWhatWasAllocated) {
  constexpr double kSmallInterval = 4096;
  constexpr std::size_t kSizes[] = {16, 1000, 8192, 100000};
  constexpr int kRounds = 200000;
  std::mt19937_64 random(20240611);
  std::exponential_distribution<double> distance(1 / kSmallInterval);
  double until_sample = distance(random);
  double estimate[4] = {};
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < 4; ++i) {
      until_sample -= static_cast<double>(kSizes[i]);
      if (until_sample > 0) continue;
      estimate[i] += WeighSample(kSizes[i], kSmallInterval).bytes;
      until_sample = distance(random);
    }
  }
  for (int i = 0; i < 4; ++i) {
    const double truth = static_cast<double>(kSizes[i]) * kRounds;
    const double p = SampleProbability(kSizes[i], kSmallInterval);
    const double error = std::sqrt((1 - p) / (kRounds * p));
    EXPECT_NEAR(estimate[i] / truth, 1.0, 5 * error + 1e-9)
        << kSizes[i] << " bytes";
  }
}

}  // namespace
}  // namespace rusty_malloc

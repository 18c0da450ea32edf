// The thread heap's part of the sampler: how often its slow path reports a
// sampled allocation, and that the free list it holds back at the sample
// point comes back whole.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/sample_countdown.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/thread_heap.h"
#include "allocator/profile/sample_weight.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

TEST(SampleCountdownTest, DrawsHaveTheMeanAsked) {
  SampleCountdown countdown(7);
  constexpr int kDraws = 100000;
  constexpr std::size_t kMean = 1 << 20;
  double sum = 0;
  for (int i = 0; i < kDraws; ++i) {
    const std::int64_t draw = countdown.Draw(kMean);
    ASSERT_GE(draw, 1);
    ASSERT_LE(draw, 40 * static_cast<std::int64_t>(kMean) + 1);
    sum += static_cast<double>(draw);
  }
  // An exponential's standard deviation is its mean: the mean of 1e5 draws
  // is within 1% (3 standard errors) of it.
  EXPECT_NEAR(sum / kDraws, static_cast<double>(kMean), 0.01 * kMean);
}

// Samples costing 10 us each, every 100 us at the mean asked: ten times
// the 1/256 share. The 250 us budget lasts 26 samples (the first earns
// nothing, each later one earns 100 us / 256 and pays 10 us); from then on
// the interval is doubled enough for the samples to fit the share (25.6
// times: 32), but for an interval at the mean whenever what the longer
// intervals earned adds up to a sample. The time spent stays within the
// share plus the first budget, and the share is used: pacing that
// stretched too far would sample less than it may. When samples come a
// second apart, the interval goes back to the mean asked.
TEST(SampleCountdownTest, PacingKeepsSamplesToTheirShareOfTheTime) {
  SampleCountdown countdown;
  constexpr std::size_t kMean = 1 << 20;
  std::int64_t now = 0;
  std::int64_t spent = 0;
  int samples = 0;
  auto sample = [&](std::int64_t gap_at_mean) {
    now += gap_at_mean *
           static_cast<std::int64_t>(countdown.Interval(kMean) / kMean);
    countdown.Pace(now, 10'000, 256);
    countdown.Restart(kMean);
    spent += 10'000;
    ++samples;
  };
  while (countdown.stretch() == 0 && samples < 10000) sample(100'000);
  EXPECT_EQ(samples, 26);
  int max_stretch = 0;
  for (int i = 0; i < 2000; ++i) {
    sample(100'000);
    max_stretch = std::max(max_stretch, countdown.stretch());
  }
  EXPECT_EQ(max_stretch, 5);
  EXPECT_EQ(countdown.drawn_from(), countdown.Interval(kMean));
  // Past the first budget, and the one sample that may overdraw it.
  const double share = static_cast<double>(spent - 250'000 - 10'000) / now;
  EXPECT_LE(share, 1.0 / 256);
  EXPECT_GE(share, 0.5 / 256);
  // A sample a second: a few samples bring the interval back.
  samples = 0;
  while (countdown.stretch() > 0 && samples < 100) sample(1'000'000'000);
  EXPECT_LT(samples, 10);
  for (int i = 0; i < 100; ++i) sample(1'000'000'000);
  EXPECT_EQ(countdown.Interval(kMean), kMean);
}

TEST(SampleCountdownTest, UnpacedNeverStretchesAndHugeMeansDoNotOverflow) {
  SampleCountdown countdown;
  for (int i = 0; i < 1000; ++i) countdown.Pace(i, 1'000'000, 0);
  EXPECT_EQ(countdown.stretch(), 0);
  for (int i = 0; i < 1000; ++i) {
    countdown.Pace(i, 1'000'000, 1);
    countdown.Restart(1);
  }
  EXPECT_EQ(countdown.stretch(), 16);
  const std::size_t huge = std::size_t{1} << 60;
  EXPECT_EQ(countdown.Interval(huge), std::size_t{1} << 50);
  countdown.Restart(huge);
  EXPECT_GE(countdown.left(), 1);
}

// Allocates `count` blocks of class `cls` the way PerThreadMalloc does with
// the sampler on, where a sampled allocation is served elsewhere (here: not
// at all); returns how many were sampled.
int AllocateSampling(ThreadHeap<MmapChunkSource>& heap, int cls, int count,
                     std::size_t mean, std::vector<void*>& blocks) {
  int sampled = 0;
  for (int i = 0; i < count; ++i) {
    void* block = heap.TryAllocateFast(cls);
    if (block == nullptr) {
      std::size_t interval = 0;
      block = heap.AllocateSlowSampling(cls, mean, &interval);
      if (interval != 0) {
        EXPECT_EQ(interval, mean);  // Never paced: PaceSampling never runs.
        ++sampled;
        continue;
      }
    }
    EXPECT_NE(block, nullptr);
    blocks.push_back(block);
  }
  return sampled;
}

TEST(ThreadHeapSampleTest, SamplesByBytesHandedOut) {
  MmapChunkSource source(64 * kChunkSize);
  ThreadHeap<MmapChunkSource> heap(&source);
  const int cls = SizeClassOf(64);
  constexpr int kBlocks = 400000;
  constexpr std::size_t kMean = 256 << 10;
  std::vector<void*> blocks;
  const int sampled = AllocateSampling(heap, cls, kBlocks, kMean, blocks);
  // Fresh blocks only, each counted: a Poisson count of mean
  // bytes / interval, here 97.7; 5 standard deviations either side.
  const double expected = static_cast<double>(kBlocks) * 64 / kMean;
  EXPECT_NEAR(sampled, expected, 5 * std::sqrt(expected));
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().broken;
  for (void* block : blocks) {
    ThreadHeap<MmapChunkSource>::FreeLocal(PageOf(block), block);
  }
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().broken;
}

TEST(ThreadHeapSampleTest, AMeanOfOneByteSamplesEveryAllocation) {
  MmapChunkSource source(64 * kChunkSize);
  ThreadHeap<MmapChunkSource> heap(&source);
  const int cls = SizeClassOf(48);
  std::vector<void*> blocks;
  // Every draw is smaller than a block, so every allocation is sampled.
  EXPECT_EQ(AllocateSampling(heap, cls, 1000, 1, blocks), 1000);
  EXPECT_TRUE(blocks.empty());
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().broken;
}

TEST(ThreadHeapSampleTest, HeldBackBlocksComeBackAfterLocalFrees) {
  MmapChunkSource source(64 * kChunkSize);
  ThreadHeap<MmapChunkSource> heap(&source);
  const int cls = SizeClassOf(32);
  std::vector<void*> blocks;
  AllocateSampling(heap, cls, 5000, 4096, blocks);
  // Free half on this thread while a list is held back: the frees go to the
  // front of the page's list, the held blocks after them.
  for (std::size_t i = 0; i < blocks.size(); i += 2) {
    ThreadHeap<MmapChunkSource>::FreeLocal(PageOf(blocks[i]), blocks[i]);
  }
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().broken;
  AllocateSampling(heap, cls, 5000, 4096, blocks);
  heap.CollectAll(Collect::kEverything);
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().broken;
}

// What fresh 64-byte blocks allocated one a microsecond (a made-up clock)
// with samples costing 5 us, paced to 1/`share` (0: unpaced), estimate.
struct Estimate {
  double estimated_over_allocated = 0;
  int samples = 0;
  int max_stretch = 0;
};
Estimate EstimateFreshBlocks(std::size_t mean, std::uint32_t share,
                             long allocations) {
  MmapChunkSource source(64 * kChunkSize);
  ThreadHeap<MmapChunkSource> heap(&source);
  const int cls = SizeClassOf(64);
  const std::size_t size = ClassSize(cls);
  Estimate result;
  double estimated = 0;
  std::int64_t now = 0;
  std::vector<void*> blocks;
  blocks.reserve(allocations);
  for (long i = 0; i < allocations; ++i) {
    now += 1000;
    void* block = heap.TryAllocateFast(cls);
    if (block == nullptr) {
      std::size_t interval = 0;
      block = heap.AllocateSlowSampling(cls, mean, &interval);
      if (interval != 0) {
        ++result.samples;
        estimated += WeighSample(size, static_cast<double>(interval)).bytes;
        heap.PaceSampling(now, 5'000, share, mean);
        result.max_stretch =
            std::max(result.max_stretch, std::countr_zero(interval / mean));
        continue;
      }
    }
    EXPECT_NE(block, nullptr);
    if (block == nullptr) break;
    blocks.push_back(block);
  }
  result.estimated_over_allocated =
      estimated / (static_cast<double>(allocations) * size);
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().broken;
  for (void* b : blocks) ThreadHeap<MmapChunkSource>::FreeLocal(PageOf(b), b);
  return result;
}

// A mean of 64 blocks, shorter than the front list: samples often fall in
// a list, whose rest is held back and must still be counted when it comes
// back. 31,250 samples, a standard error of 0.6%; the tolerance is 5 of
// them. Blocks put back before a sample once went to the fast path
// uncounted, and the estimate came out at 0.65.
TEST(ThreadHeapSampleTest, SmallMeansEstimateTheBytesAllocated) {
  const Estimate e = EstimateFreshBlocks(4096, 0, 2'000'000);
  EXPECT_EQ(e.max_stretch, 0);
  EXPECT_NEAR(e.samples, 31'250, 5 * 177);
  EXPECT_NEAR(e.estimated_over_allocated, 1.0, 0.03) << e.samples;
}

// Pacing changes how often samples come, not what they stand for: each is
// weighed by the interval it ended, so the bytes estimated from the samples
// still match the bytes allocated. Against a 1/256 share, once the
// budget's 50 samples are spent, the interval is 4 KiB doubled 5 or 6
// times but for one at the mean now and then. Some 1,600 samples, and the
// estimate's standard error is about 3.5% (seeds differ from run to run:
// they mix in the heap's address); the tolerance is 4 of them, so a change
// to the pacing or the weights that biases the estimate by a seventh
// fails, and a correct one fails once in 15,000 runs. Fresh blocks only:
// blocks freed and reused on the thread go uncounted (thread_heap.h).
TEST(ThreadHeapSampleTest, PacedSamplesStillEstimateTheBytesAllocated) {
  const Estimate e = EstimateFreshBlocks(4096, 256, 2'000'000);
  EXPECT_GE(e.max_stretch, 5);
  EXPECT_LE(e.max_stretch, 6);
  // 2 s of made-up time: its 1/256 is 1,562 samples of 5 us, plus the
  // budget's 50.
  EXPECT_GT(e.samples, 1400);
  EXPECT_LT(e.samples, 1700);
  EXPECT_NEAR(e.estimated_over_allocated, 1.0, 0.14)
      << e.samples << " samples, stretched up to " << e.max_stretch;
}

}  // namespace
}  // namespace rusty_malloc

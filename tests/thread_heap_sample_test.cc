// The thread heap's part of the sampler: how often its slow path reports a
// sampled allocation, and that the free list it holds back at the sample
// point comes back whole.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/sample_countdown.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/thread_heap.h"
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

// Allocates `count` blocks of class `cls` the way PerThreadMalloc does with
// the sampler on, where a sampled allocation is served elsewhere (here: not
// at all); returns how many were sampled.
int AllocateSampling(ThreadHeap<MmapChunkSource>& heap, int cls, int count,
                     std::size_t mean, std::vector<void*>& blocks) {
  int sampled = 0;
  for (int i = 0; i < count; ++i) {
    void* block = heap.TryAllocateFast(cls);
    if (block == nullptr) {
      bool is_sample = false;
      block = heap.AllocateSlowSampling(cls, mean, &is_sample);
      if (is_sample) {
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

}  // namespace
}  // namespace rusty_malloc

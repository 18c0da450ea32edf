#include "allocator/profile/heap_profile.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "allocator/profile/sample_weight.h"
#include "allocator/profile/stack_table.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

// Every allocation sampled: each sample weighs exactly one allocation and
// its bytes, so the figures are exact.
constexpr double kEverything = 0;

// A made-up stack of three frames, one per `site`.
struct Site {
  explicit Site(std::uintptr_t site)
      : pcs{0x401000 + site * 0x10, 0x402000, 0x403000} {}
  std::uintptr_t pcs[3];
};

void* Address(std::uintptr_t a) { return reinterpret_cast<void*>(a); }

void Record(HeapProfile& profile, std::uintptr_t block, std::size_t bytes,
            const Site& site, double interval = kEverything) {
  profile.Record(Address(block), bytes, interval, site.pcs, 3);
}

// The counters of the stack whose innermost frame is `site`'s.
StackCounters CountersOf(const HeapProfile& profile, const Site& site) {
  StackCounters found;
  profile.Visit([&](const StackTable& stacks) {
    stacks.ForEach([&](StackTable::Id, const StackRecord& stack) {
      if (stack.depth > 0 && stack.pcs[0] == site.pcs[0]) {
        found = stack.counters;
      }
    });
  });
  return found;
}

// What the drop-in's process-wide profile will be: ready before any
// constructor runs.
constinit HeapProfile global_profile;

TEST(HeapProfileTest, IsConstantInitialised) {
  Record(global_profile, 0x1000, 64, Site(1));
  EXPECT_EQ(global_profile.Stats().live.bytes, 64.0);
  EXPECT_TRUE(global_profile.Remove(Address(0x1000)));
}

TEST(HeapProfileTest, StartsEmpty) {
  HeapProfile profile;
  const HeapProfileStats stats = profile.Stats();
  EXPECT_EQ(stats.live.bytes, 0.0);
  EXPECT_EQ(stats.total.count, 0.0);
  EXPECT_EQ(stats.live_samples, 0u);
  EXPECT_EQ(stats.stacks, 0u);
  EXPECT_FALSE(profile.Remove(Address(0x1000)));
  EXPECT_FALSE(profile.Remove(nullptr));
  // A null block is no allocation.
  Record(profile, 0, 64, Site(1));
  EXPECT_EQ(profile.Stats().total_samples, 0u);
}

TEST(HeapProfileTest, RecordAndRemoveKeepLiveAndTotal) {
  HeapProfile profile;
  const Site a(1);
  const Site b(2);
  Record(profile, 0x1000, 100, a);
  Record(profile, 0x2000, 200, a);
  Record(profile, 0x3000, 50, b);
  HeapProfileStats stats = profile.Stats();
  EXPECT_EQ(stats.live.count, 3.0);
  EXPECT_EQ(stats.live.bytes, 350.0);
  EXPECT_EQ(stats.live_samples, 3u);
  EXPECT_EQ(stats.stacks, 2u);
  EXPECT_EQ(CountersOf(profile, a).live.bytes, 300.0);
  EXPECT_EQ(CountersOf(profile, b).live.bytes, 50.0);

  EXPECT_TRUE(profile.Remove(Address(0x2000)));
  EXPECT_FALSE(profile.Remove(Address(0x2000)));
  EXPECT_FALSE(profile.Remove(Address(0x9000)));
  EXPECT_FALSE(profile.Remove(nullptr));
  stats = profile.Stats();
  EXPECT_EQ(stats.live.count, 2.0);
  EXPECT_EQ(stats.live.bytes, 150.0);
  EXPECT_EQ(stats.total.count, 3.0);
  EXPECT_EQ(stats.total.bytes, 350.0);
  EXPECT_EQ(stats.total_samples, 3u);
  EXPECT_EQ(CountersOf(profile, a).live.bytes, 100.0);
  EXPECT_EQ(CountersOf(profile, a).total.bytes, 300.0);
}

TEST(HeapProfileTest, SamplesAreWeighedByTheirInterval) {
  HeapProfile profile;
  const Site a(1);
  constexpr double kInterval = 512 * 1024;
  Record(profile, 0x1000, 4096, a, kInterval);
  Record(profile, 0x2000, 1 << 20, a, kInterval);
  const SampleWeight small = WeighSample(4096, kInterval);
  const SampleWeight large = WeighSample(1 << 20, kInterval);
  HeapProfileStats stats = profile.Stats();
  EXPECT_DOUBLE_EQ(stats.live.count, small.count + large.count);
  EXPECT_DOUBLE_EQ(stats.live.bytes, small.bytes + large.bytes);
  EXPECT_TRUE(profile.Remove(Address(0x1000)));
  // Within the rounding of adding the small sample and taking it away.
  stats = profile.Stats();
  EXPECT_NEAR(stats.live.count, large.count, 1e-12 * large.count);
  EXPECT_NEAR(stats.live.bytes, large.bytes, 1e-12 * large.bytes);
  EXPECT_DOUBLE_EQ(CountersOf(profile, a).total.bytes,
                   small.bytes + large.bytes);
  // Once nothing is live, exactly nothing is.
  EXPECT_TRUE(profile.Remove(Address(0x2000)));
  EXPECT_EQ(profile.Stats().live.bytes, 0.0);
  EXPECT_EQ(CountersOf(profile, a).live.bytes, 0.0);
}

TEST(HeapProfileTest, RecordingABlockAgainReplacesItsSample) {
  HeapProfile profile;
  const Site a(1);
  const Site b(2);
  Record(profile, 0x1000, 100, a);
  Record(profile, 0x1000, 30, b);
  const HeapProfileStats stats = profile.Stats();
  EXPECT_EQ(stats.live_samples, 1u);
  EXPECT_EQ(stats.live.bytes, 30.0);
  EXPECT_EQ(stats.total.bytes, 130.0);
  EXPECT_EQ(CountersOf(profile, a).live.bytes, 0.0);
  EXPECT_EQ(CountersOf(profile, b).live.bytes, 30.0);
}

TEST(HeapProfileTest, PeakHoldsEachStackWhenLiveBytesWereHighest) {
  HeapProfile profile;
  const Site a(1);
  const Site b(2);
  const Site c(3);
  const Site d(4);
  Record(profile, 0x1000, 100, a);
  Record(profile, 0x2000, 200, b);  // Peak: 300 (a 100, b 200).
  EXPECT_TRUE(profile.Remove(Address(0x1000)));
  Record(profile, 0x3000, 50, c);  // 250: no new peak.
  HeapProfileStats stats = profile.Stats();
  EXPECT_EQ(stats.peak.bytes, 300.0);
  EXPECT_EQ(stats.peak.count, 2.0);
  EXPECT_EQ(CountersOf(profile, a).peak.bytes, 100.0);
  EXPECT_EQ(CountersOf(profile, b).peak.bytes, 200.0);
  EXPECT_EQ(CountersOf(profile, c).peak.bytes, 0.0);

  Record(profile, 0x4000, 200, d);  // 450: a new peak (b, c, d).
  stats = profile.Stats();
  EXPECT_EQ(stats.peak.bytes, 450.0);
  EXPECT_EQ(stats.peak.count, 3.0);
  EXPECT_EQ(CountersOf(profile, a).peak.bytes, 0.0);
  EXPECT_EQ(CountersOf(profile, b).peak.bytes, 200.0);
  EXPECT_EQ(CountersOf(profile, c).peak.bytes, 50.0);
  EXPECT_EQ(CountersOf(profile, d).peak.bytes, 200.0);
  EXPECT_EQ(CountersOf(profile, d).peak.count, 1.0);

  // Freeing everything leaves the peak.
  for (const std::uintptr_t block : {0x2000, 0x3000, 0x4000}) {
    EXPECT_TRUE(profile.Remove(Address(block)));
  }
  stats = profile.Stats();
  EXPECT_EQ(stats.live.bytes, 0.0);
  EXPECT_EQ(stats.peak.bytes, 450.0);
  EXPECT_EQ(CountersOf(profile, d).peak.bytes, 200.0);
}

TEST(HeapProfileTest, StacksPastTheTablesCapacityShareTheOverflowStack) {
  HeapProfile profile(2);
  for (std::uintptr_t site = 0; site < 5; ++site) {
    Record(profile, 0x1000 * (site + 1), 10, Site(site));
  }
  const HeapProfileStats stats = profile.Stats();
  EXPECT_EQ(stats.stacks, 2u);
  EXPECT_EQ(stats.overflowed_samples, 3u);
  EXPECT_EQ(stats.live.bytes, 50.0);
  double overflow_bytes = 0;
  profile.Visit([&](const StackTable& stacks) {
    overflow_bytes = stacks.stack(StackTable::kOverflowId).counters.live.bytes;
  });
  EXPECT_EQ(overflow_bytes, 30.0);
}

// Four threads record and remove blocks of their own at shared stacks,
// while a fifth reads the figures; under TSan, the lock's proof. With every
// allocation sampled the figures come out exact.
TEST(HeapProfileTest, ThreadsRecordAndRemoveConcurrently) {
  HeapProfile profile;
  constexpr int kThreads = 4;
  constexpr int kBlocks = 5000;
  constexpr int kRounds = 4;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      const HeapProfileStats stats = profile.Stats();
      EXPECT_LE(stats.live.bytes, stats.total.bytes);
      profile.Visit([](const StackTable& stacks) {
        stacks.ForEach([](StackTable::Id, const StackRecord& stack) {
          EXPECT_LE(stack.counters.live.bytes, stack.counters.total.bytes);
        });
      });
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&profile, t] {
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kBlocks; ++i) {
          const std::uintptr_t block = (std::uintptr_t{1} << 40) * (t + 1) +
                                       static_cast<std::uintptr_t>(i) * 64;
          const Site site(static_cast<std::uintptr_t>(i % 8));
          Record(profile, block, 1 + i % 8, site);
        }
        for (int i = 0; i < kBlocks; ++i) {
          const std::uintptr_t block = (std::uintptr_t{1} << 40) * (t + 1) +
                                       static_cast<std::uintptr_t>(i) * 64;
          EXPECT_TRUE(profile.Remove(Address(block)));
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  done.store(true);
  reader.join();

  const HeapProfileStats stats = profile.Stats();
  // Sizes 1..8 in turn: kBlocks / 8 of each, so 4.5 bytes a block.
  constexpr double kSamples = double{kThreads} * kRounds * kBlocks;
  EXPECT_EQ(stats.live_samples, 0u);
  EXPECT_EQ(stats.live.bytes, 0.0);
  EXPECT_EQ(stats.total_samples, static_cast<std::size_t>(kSamples));
  EXPECT_EQ(stats.total.count, kSamples);
  EXPECT_EQ(stats.total.bytes, kSamples * 4.5);
  EXPECT_EQ(stats.stacks, 8u);
  // Every thread's live blocks at once, at most: the peak lies between one
  // thread's round and all four's.
  EXPECT_GE(stats.peak.bytes, kBlocks * 4.5);
  EXPECT_LE(stats.peak.bytes, kThreads * kBlocks * 4.5);
}

}  // namespace
}  // namespace rusty_malloc

#include "allocator/profile/stack_table.h"

#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "allocator/profile/sample_weight.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

using Id = StackTable::Id;

// A made-up stack of `depth` frames, distinct for each `seed`.
std::vector<std::uintptr_t> Stack(std::uintptr_t seed, int depth = 5) {
  std::vector<std::uintptr_t> pcs;
  for (int i = 0; i < depth; ++i) pcs.push_back(0x400000 + seed * 0x100 + i);
  return pcs;
}

Id Intern(StackTable& table, const std::vector<std::uintptr_t>& pcs) {
  return table.Intern(pcs.data(), static_cast<int>(pcs.size()));
}

TEST(StackTableTest, InternsEachStackOnceUnderADenseId) {
  StackTable table;
  EXPECT_EQ(table.size(), 0u);
  const Id a = Intern(table, Stack(1));
  const Id b = Intern(table, Stack(2));
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(Intern(table, Stack(1)), a);
  EXPECT_EQ(Intern(table, Stack(2)), b);
  EXPECT_EQ(table.size(), 2u);
  const StackRecord& record = table.stack(b);
  ASSERT_EQ(record.depth, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(record.pcs[i], Stack(2)[i]);
}

TEST(StackTableTest, APrefixIsAnotherStack) {
  StackTable table;
  const Id whole = Intern(table, Stack(1, 6));
  const Id prefix = Intern(table, Stack(1, 5));
  const Id empty = table.Intern(nullptr, 0);
  EXPECT_NE(whole, prefix);
  EXPECT_NE(empty, prefix);
  EXPECT_NE(empty, whole);
  EXPECT_EQ(table.stack(empty).depth, 0);
  EXPECT_EQ(table.Intern(nullptr, 0), empty);
}

TEST(StackTableTest, FramesPastTheMaximumAreDropped) {
  StackTable table;
  std::vector<std::uintptr_t> deep = Stack(1, StackTable::kMaxFrames + 8);
  const Id id = Intern(table, deep);
  deep.back() = 0xdead;  // Past the frames kept.
  EXPECT_EQ(Intern(table, deep), id);
  EXPECT_EQ(table.stack(id).depth, StackTable::kMaxFrames);
}

TEST(StackTableTest, FillsToItsCapacityThenSendsNewStacksToOverflow) {
  StackTable table(4);
  EXPECT_EQ(table.capacity(), 4u);
  for (std::uintptr_t i = 0; i < 4; ++i) EXPECT_EQ(Intern(table, Stack(i)), i);
  EXPECT_EQ(Intern(table, Stack(4)), StackTable::kOverflowId);
  EXPECT_EQ(Intern(table, Stack(5)), StackTable::kOverflowId);
  EXPECT_EQ(table.size(), 4u);
  // Those it holds are still found.
  for (std::uintptr_t i = 0; i < 4; ++i) EXPECT_EQ(Intern(table, Stack(i)), i);
  // One frame, in the function that names it.
  EXPECT_EQ(table.stack(StackTable::kOverflowId).depth, 1);
  EXPECT_NE(table.stack(StackTable::kOverflowId).pcs[0], 0u);
}

TEST(StackTableTest, HoldsTheDefaultCapacityOfDistinctStacks) {
  StackTable table;
  const std::size_t n = StackTable::kDefaultCapacity;
  for (std::uintptr_t i = 0; i < n; ++i) {
    ASSERT_EQ(Intern(table, Stack(i, 1 + static_cast<int>(i % 7))), i);
  }
  EXPECT_EQ(table.size(), n);
  for (std::uintptr_t i = 0; i < n; ++i) {
    ASSERT_EQ(Intern(table, Stack(i, 1 + static_cast<int>(i % 7))), i);
  }
  EXPECT_EQ(Intern(table, Stack(n)), StackTable::kOverflowId);
}

TEST(StackTableTest, CountsLiveAndTotalPerStack) {
  StackTable table;
  const Id a = Intern(table, Stack(1));
  const Id b = Intern(table, Stack(2));
  table.AddSample(a, {2.0, 200.0});
  table.AddSample(a, {3.0, 300.0});
  table.AddSample(b, {1.5, 15.0});
  const StackCounters& counters = table.stack(a).counters;
  EXPECT_EQ(counters.live_samples, 2u);
  EXPECT_EQ(counters.total_samples, 2u);
  EXPECT_EQ(counters.live.count, 5.0);
  EXPECT_EQ(counters.live.bytes, 500.0);
  table.RemoveSample(a, {2.0, 200.0});
  EXPECT_EQ(counters.live_samples, 1u);
  EXPECT_EQ(counters.live.count, 3.0);
  EXPECT_EQ(counters.live.bytes, 300.0);
  EXPECT_EQ(counters.total_samples, 2u);
  EXPECT_EQ(counters.total.count, 5.0);
  EXPECT_EQ(counters.total.bytes, 500.0);
  // The other stack's are its own.
  EXPECT_EQ(table.stack(b).counters.live.bytes, 15.0);
  EXPECT_EQ(table.stack(b).counters.total_samples, 1u);
}

TEST(StackTableTest, TheLastRemovalLeavesExactlyZero) {
  StackTable table;
  const Id id = Intern(table, Stack(1));
  // 0.1 + 0.2 - 0.1 - 0.2 is not 0 in doubles.
  table.AddSample(id, {0.1, 0.1});
  table.AddSample(id, {0.2, 0.2});
  table.RemoveSample(id, {0.1, 0.1});
  table.RemoveSample(id, {0.2, 0.2});
  EXPECT_EQ(table.stack(id).counters.live.count, 0.0);
  EXPECT_EQ(table.stack(id).counters.live.bytes, 0.0);
  // A removal with nothing live changes nothing.
  table.RemoveSample(id, {1.0, 1.0});
  EXPECT_EQ(table.stack(id).counters.live_samples, 0u);
  EXPECT_EQ(table.stack(id).counters.live.bytes, 0.0);
}

TEST(StackTableTest, SnapshotPeakCopiesEveryStacksLiveCounters) {
  StackTable table(2);
  const Id a = Intern(table, Stack(1));
  const Id b = Intern(table, Stack(2));
  const Id overflow = Intern(table, Stack(3));
  table.AddSample(a, {1.0, 100.0});
  table.AddSample(b, {2.0, 50.0});
  table.AddSample(overflow, {4.0, 40.0});
  EXPECT_EQ(table.stack(a).counters.peak.bytes, 0.0);
  table.SnapshotPeak();
  table.RemoveSample(a, {1.0, 100.0});
  table.AddSample(b, {1.0, 10.0});
  EXPECT_EQ(table.stack(a).counters.peak.bytes, 100.0);
  EXPECT_EQ(table.stack(a).counters.peak.count, 1.0);
  EXPECT_EQ(table.stack(b).counters.peak.bytes, 50.0);
  EXPECT_EQ(table.stack(overflow).counters.peak.bytes, 40.0);
  EXPECT_EQ(table.stack(overflow).counters.peak.count, 4.0);
  table.SnapshotPeak();
  EXPECT_EQ(table.stack(a).counters.peak.bytes, 0.0);
  EXPECT_EQ(table.stack(b).counters.peak.bytes, 60.0);
}

TEST(StackTableTest, ForEachVisitsTheStacksThenAnOverflowThatWasUsed) {
  StackTable table(2);
  const Id a = Intern(table, Stack(1));
  const Id b = Intern(table, Stack(2));
  std::vector<Id> seen;
  table.ForEach([&](Id id, const StackRecord&) { seen.push_back(id); });
  EXPECT_EQ(seen, (std::vector<Id>{a, b}));
  // Interned into overflow, but no sample there yet.
  const Id overflow = Intern(table, Stack(3));
  seen.clear();
  table.ForEach([&](Id id, const StackRecord&) { seen.push_back(id); });
  EXPECT_EQ(seen.size(), 2u);
  table.AddSample(overflow, {1.0, 1.0});
  table.RemoveSample(overflow, {1.0, 1.0});
  seen.clear();
  table.ForEach([&](Id id, const StackRecord&) { seen.push_back(id); });
  EXPECT_EQ(seen, (std::vector<Id>{a, b, StackTable::kOverflowId}));
}

}  // namespace
}  // namespace rusty_malloc

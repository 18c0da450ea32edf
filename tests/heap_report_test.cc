#include "allocator/common/heap_report.h"

#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

TEST(HeapReportTest, DefaultIsIntact) {
  const HeapReport report;
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.ToString(), "heap intact");
}

TEST(HeapReportTest, BrokenReportNamesTheInvariantAndTheAddress) {
  const HeapReport report{"two adjacent free blocks",
                          reinterpret_cast<void*>(0x1000)};
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.ToString(), "two adjacent free blocks at 0x1000");
}

TEST(HeapStatsTest, StartsEmpty) {
  const HeapStats stats;
  EXPECT_EQ(stats.heap_bytes, 0u);
  EXPECT_EQ(stats.allocated_blocks, 0u);
  EXPECT_EQ(stats.free_blocks, 0u);
}

}  // namespace
}  // namespace rusty_malloc

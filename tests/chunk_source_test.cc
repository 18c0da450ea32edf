#include "allocator/per_thread/chunk_source.h"

#include <cstdint>
#include <cstring>
#include <set>

#include "allocator/per_thread/chunk.h"
#include "gtest/gtest.h"
#include "testing/test_growers.h"

namespace rusty_malloc {
namespace {

bool Aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % kChunkSize == 0;
}

TEST(MmapChunkSourceTest, HandsOutDistinctAlignedWritableChunks) {
  MmapChunkSource source(64 * kChunkSize);
  int outside = 0;
  EXPECT_FALSE(source.Contains(&outside));
  std::set<void*> chunks;
  for (int i = 0; i < 8; ++i) {
    void* c = source.AllocateChunk();
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(Aligned(c));
    EXPECT_TRUE(source.Contains(c));
    EXPECT_TRUE(source.Contains(static_cast<char*>(c) + kChunkSize - 1));
    std::memset(c, 1, 4096);
    chunks.insert(c);
  }
  EXPECT_EQ(chunks.size(), 8u);
  EXPECT_FALSE(source.Contains(&outside));
}

TEST(MmapChunkSourceTest,
     ReusesReleasedChunksDecommittedAndRefusesPastItsRange) {
  MmapChunkSource source(4 * kChunkSize);
  void* a = source.AllocateChunk();
  std::memset(a, 0xab, kPageSize);
  source.ReleaseChunk(a);
  void* again = source.AllocateChunk();
  EXPECT_EQ(again, a);
  EXPECT_EQ(static_cast<unsigned char*>(again)[0], 0);  // MADV_DONTNEED.
  for (int i = 0; i < 3; ++i) EXPECT_NE(source.AllocateChunk(), nullptr);
  EXPECT_EQ(source.AllocateChunk(), nullptr);
}

TEST(GrowerChunkSourceTest, CarvesAlignedChunksFromAGrower) {
  GrowerChunkSource<testing::TestGrower> source(testing::TestGrower(64 << 20));
  void* a = source.AllocateChunk();
  void* b = source.AllocateChunk();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(Aligned(a));
  EXPECT_TRUE(Aligned(b));
  EXPECT_NE(a, b);
  EXPECT_TRUE(source.Contains(a));
  EXPECT_TRUE(source.Contains(b));
  source.ReleaseChunk(a);
  EXPECT_EQ(source.AllocateChunk(), a);
  source.grower().set_refuse(true);
  EXPECT_EQ(source.AllocateChunk(), nullptr);
}

}  // namespace
}  // namespace rusty_malloc

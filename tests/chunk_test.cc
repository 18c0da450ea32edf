#include "allocator/per_thread/chunk.h"

#include <cstdint>
#include <memory>

#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

TEST(ChunkTest, MaskingFindsTheChunkAndPageOfAnyAddressInIt) {
  const std::uintptr_t chunk = std::uintptr_t{0x7f12} << 32;  // 4 MiB aligned.
  auto* header = reinterpret_cast<ChunkHeader*>(chunk);
  for (std::uintptr_t offset : {std::uintptr_t{0}, kPageSize - 1, kPageSize,
                                5 * kPageSize + 123, kChunkSize - 1}) {
    const void* p = reinterpret_cast<const void*>(chunk + offset);
    EXPECT_EQ(ChunkOf(p), header) << offset;
    EXPECT_EQ(PageOf(p), &header->pages[offset / kPageSize]) << offset;
  }
  EXPECT_NE(ChunkOf(reinterpret_cast<const void*>(chunk + kChunkSize)), header);
}

TEST(ChunkTest, TheHeaderFitsInPageZeroAndTheRemoteListHasItsOwnLine) {
  EXPECT_LE(sizeof(ChunkHeader), kPageSize);
  EXPECT_EQ(kPagesPerChunk, 64);
  PageInfo page;
  const auto line = [](const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) / 64;
  };
  EXPECT_NE(line(&page.thread_free), line(&page.free));
  EXPECT_NE(line(&page.thread_free), line(&page.used));
}

}  // namespace
}  // namespace rusty_malloc

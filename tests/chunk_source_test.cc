#include "allocator/per_thread/chunk_source.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>

#include "allocator/common/monotonic_clock.h"
#include "allocator/common/released_bytes.h"
#include "allocator/common/sanitizer.h"
#include "allocator/common/tunables.h"
#include "allocator/per_thread/chunk.h"
#include "gtest/gtest.h"
#include "testing/resident.h"
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

// A released chunk's first byte, read past ASan's poisoning of it.
RUSTY_MALLOC_METADATA_ACCESS unsigned char FirstByte(const void* chunk) {
  return *static_cast<const volatile unsigned char*>(chunk);
}

// A released chunk is reused as it is within the purge delay (no page
// faults for a thread that starts as another exits), and decommitted once
// it has waited that long or on PurgeReleased(true).
TEST(MmapChunkSourceTest, ReusesReleasedChunksAndDecommitsThemWhenPurged) {
  MmapChunkSource source(4 * kChunkSize);
  void* a = source.AllocateChunk();
  std::memset(a, 0xab, kPageSize);
  source.ReleaseChunk(a);
  EXPECT_EQ(source.AllocateChunk(), a);
  EXPECT_EQ(static_cast<unsigned char*>(a)[0], 0xab);  // Still committed.
  source.ReleaseChunk(a);
  source.PurgeReleased(Due::kWhenDue);  // Not yet due.
  EXPECT_EQ(FirstByte(a), 0xab);
  std::this_thread::sleep_for(std::chrono::nanoseconds(kDefaultPurgeDelayNs) +
                              std::chrono::milliseconds(50));
  source.PurgeReleased(Due::kWhenDue);
  EXPECT_EQ(testing::ResidentPages(a, kChunkSize), 0u);
  void* again = source.AllocateChunk();
  EXPECT_EQ(again, a);
  EXPECT_EQ(static_cast<unsigned char*>(again)[0], 0);  // MADV_DONTNEED.
  std::memset(again, 0xcd, kPageSize);
  source.ReleaseChunk(again);
  source.PurgeReleased(Due::kNow);
  EXPECT_EQ(testing::ResidentPages(a, kChunkSize), 0u);
}

// Past the retained-memory bound, a released chunk's memory goes back at
// once; the ones within it stay committed until purged.
TEST(MmapChunkSourceTest, KeepsNoMoreCommittedThanTheRetainedBound) {
  std::atomic<std::size_t>& bound = TheTunables().retained_bytes_max;
  const std::size_t saved = bound.load();
  bound.store(2 * kChunkSize);
  MmapChunkSource source(8 * kChunkSize);
  void* chunks[4];
  for (void*& c : chunks) {
    c = source.AllocateChunk();
    ASSERT_NE(c, nullptr);
    std::memset(c, 0xab, kPageSize);
  }
  const std::size_t before = ReleasedBytes();
  for (void* c : chunks) source.ReleaseChunk(c);
  EXPECT_EQ(ReleasedBytes() - before, 2 * kChunkSize);
  EXPECT_EQ(FirstByte(chunks[0]), 0xab);
  EXPECT_EQ(FirstByte(chunks[1]), 0xab);
  EXPECT_EQ(testing::ResidentPages(chunks[2], kChunkSize), 0u);
  EXPECT_EQ(testing::ResidentPages(chunks[3], kChunkSize), 0u);
  // The committed ones are reused first, and a reused one makes room for
  // the next one released to stay committed.
  void* reused = source.AllocateChunk();
  EXPECT_EQ(reused, chunks[1]);
  EXPECT_EQ(FirstByte(reused), 0xab);
  source.ReleaseChunk(reused);
  EXPECT_EQ(ReleasedBytes() - before, 2 * kChunkSize);
  source.PurgeReleased(Due::kNow);
  EXPECT_EQ(ReleasedBytes() - before, 4 * kChunkSize);
  bound.store(saved);
}

TEST(MmapChunkSourceTest, RefusesPastItsRange) {
  MmapChunkSource source(4 * kChunkSize);
  for (int i = 0; i < 4; ++i) EXPECT_NE(source.AllocateChunk(), nullptr);
  EXPECT_EQ(source.AllocateChunk(), nullptr);
}

// Whether the mapping holding `p` is readable and writable, from
// /proc/self/maps.
bool ReadWrite(const void* p) {
  std::FILE* maps = std::fopen("/proc/self/maps", "r");
  char line[512];
  bool found = false;
  bool rw = false;
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  while (!found && std::fgets(line, sizeof(line), maps) != nullptr) {
    unsigned long begin, end;
    char perms[5];
    if (std::sscanf(line, "%lx-%lx %4s", &begin, &end, perms) != 3) continue;
    if (at >= begin && at < end) {
      found = true;
      rw = perms[0] == 'r' && perms[1] == 'w';
    }
  }
  std::fclose(maps);
  return rw;
}

// Regions come as they are needed (one chunk, then two, four, ...), each
// inaccessible until a chunk of it is handed out, and Contains knows every
// one of them.
TEST(MmapChunkSourceTest, ReservesRegionsOnDemandAndCommitsChunksAsUsed) {
  MmapChunkSource source;
  std::set<void*> chunks;
  void* last = nullptr;
  for (int i = 0; i < 40; ++i) {
    void* c = last = source.AllocateChunk();
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(Aligned(c));
    EXPECT_TRUE(source.Contains(c));
    EXPECT_TRUE(ReadWrite(c));
    std::memset(c, 1, 64);
    chunks.insert(c);
  }
  EXPECT_EQ(chunks.size(), 40u);
  // Regions of 1, 2, 4, 8 and 16 chunks hold 31; the 40th chunk is the
  // ninth of a sixth region of 16, whose tenth is reserved, not handed out:
  // inaccessible, and not ours for Contains (whose yes lets a caller read
  // the chunk's header).
  void* reserved = static_cast<char*>(last) + kChunkSize;
  EXPECT_EQ(chunks.count(reserved), 0u);
  EXPECT_FALSE(source.Contains(reserved));
  EXPECT_FALSE(ReadWrite(reserved));
  int local = 0;
  EXPECT_FALSE(source.Contains(&local));
  EXPECT_FALSE(source.Contains(reinterpret_cast<void*>(~std::uintptr_t{0})));
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

#include "allocator/guarded/guarded_pool.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "allocator/common/os_memory.h"
#include "allocator/guarded/classify_fault.h"
#include "allocator/guarded/layout.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

std::uintptr_t Address(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p);
}

// The start of the OS page `p` lies in.
std::uintptr_t PageOf(const void* p) {
  return Address(p) / OsPageSize() * OsPageSize();
}

// The protection /proc/self/maps gives the page `p` lies in ("rw-p",
// "---p"), read without faulting; "" when no mapping holds it.
std::string ProtectionOf(const void* p) {
  const std::uintptr_t address = Address(p);
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (maps == nullptr) return "";
  char line[512];
  std::string protection;
  while (std::fgets(line, sizeof(line), maps) != nullptr) {
    unsigned long start = 0;
    unsigned long end = 0;
    char perms[8] = {};
    if (std::sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 &&
        address >= start && address < end) {
      protection = perms;
      break;
    }
  }
  std::fclose(maps);
  return protection;
}

TEST(GuardedPoolTest, BlocksEndWhereTheirPageDoes) {
  GuardedPool pool(4, GuardedPlacement::kAgainstEnd);
  const std::size_t page = OsPageSize();
  void* p = pool.Allocate(100, 1);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ((Address(p) + 100) % page, 0u);
  // Aligned: the end rounds down to the alignment, less than it from the
  // page's end.
  void* q = pool.Allocate(100, 64);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(Address(q) % 64, 0u);
  EXPECT_LE(Address(q) + 100, PageOf(q) + page);
  EXPECT_LT(PageOf(q) + page - (Address(q) + 100), 64u);
  // A whole page starts it.
  void* whole = pool.Allocate(page, page);
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(Address(whole) % page, 0u);
  EXPECT_NE(PageOf(p), PageOf(q));
  EXPECT_NE(PageOf(q), PageOf(whole));
  pool.Deallocate(p);
  pool.Deallocate(q);
  pool.Deallocate(whole);
}

TEST(GuardedPoolTest, RefusesWhatNoSlotHolds) {
  GuardedPool pool(2);
  const std::size_t page = OsPageSize();
  EXPECT_EQ(pool.Allocate(0, 1), nullptr);
  EXPECT_EQ(pool.Allocate(page + 1, 1), nullptr);
  EXPECT_EQ(pool.Allocate(8, 0), nullptr);
  EXPECT_EQ(pool.Allocate(8, 3), nullptr);
  EXPECT_EQ(pool.Allocate(8, 2 * page), nullptr);
  // None of them took a slot.
  void* a = pool.Allocate(8, 8);
  void* b = pool.Allocate(8, 8);
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  pool.Deallocate(a);
  pool.Deallocate(b);
}

TEST(GuardedPoolTest, PlacementAlternatesToCatchUnderflows) {
  GuardedPool pool(4);  // kAlternate
  const std::size_t page = OsPageSize();
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(pool.Allocate(24, 8));
  for (int i = 0; i < 4; ++i) {
    ASSERT_NE(blocks[i], nullptr);
    if (i % 2 == 0) {
      EXPECT_EQ(Address(blocks[i]) + 24, PageOf(blocks[i]) + page) << i;
    } else {
      EXPECT_EQ(Address(blocks[i]), PageOf(blocks[i])) << i;
    }
  }
  for (void* p : blocks) pool.Deallocate(p);

  GuardedPool starts(2, GuardedPlacement::kAgainstStart);
  for (int i = 0; i < 2; ++i) {
    void* p = starts.Allocate(24, 8);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(Address(p) % page, 0u);
  }
}

TEST(GuardedPoolTest, ContainsTheWholeRangeOnly) {
  GuardedPool pool(3);
  int outside = 0;
  EXPECT_FALSE(pool.Contains(&outside));
  EXPECT_FALSE(pool.Contains(nullptr));
  void* p = pool.Allocate(16, 16);
  ASSERT_NE(p, nullptr);
  const GuardedLayout layout = pool.layout();
  ASSERT_NE(layout.base, 0u);
  EXPECT_EQ(layout.slots, 3u);
  const auto at = [](std::uintptr_t a) {
    return reinterpret_cast<const void*>(a);
  };
  EXPECT_TRUE(pool.Contains(p));
  EXPECT_TRUE(pool.Contains(at(layout.base)));  // The first guard page.
  EXPECT_TRUE(pool.Contains(at(layout.base + layout.bytes() - 1)));
  EXPECT_FALSE(pool.Contains(at(layout.base - 1)));
  EXPECT_FALSE(pool.Contains(at(layout.base + layout.bytes())));
  EXPECT_FALSE(pool.Contains(&outside));
  pool.Deallocate(p);
}

TEST(GuardedPoolTest, UsableSizeIsTheRequestedSize) {
  GuardedPool pool(2);
  auto* p = static_cast<char*>(pool.Allocate(13, 1));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(pool.UsableSize(p), 13u);
  EXPECT_EQ(pool.UsableSize(p + 1), 0u);  // Not a block's start.
  pool.Deallocate(p);
  EXPECT_EQ(pool.UsableSize(p), 0u);
}

TEST(GuardedPoolTest, BlocksAreWritableAndStartZeroed) {
  GuardedPool pool(2);
  const std::size_t page = OsPageSize();
  for (const std::size_t size : {std::size_t{1}, std::size_t{200}, page}) {
    auto* p = static_cast<unsigned char*>(pool.Allocate(size, 1));
    ASSERT_NE(p, nullptr);
    for (std::size_t i = 0; i < size; ++i) ASSERT_EQ(p[i], 0) << i;
    std::memset(p, 0xa5, size);
    for (std::size_t i = 0; i < size; ++i) ASSERT_EQ(p[i], 0xa5) << i;
    pool.Deallocate(p);
  }
}

TEST(GuardedPoolTest, GuardAndFreedPagesAreInaccessible) {
  GuardedPool pool(2, GuardedPlacement::kAgainstEnd);
  const std::size_t page = OsPageSize();
  auto* p = static_cast<char*>(pool.Allocate(64, 1));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(ProtectionOf(p), "rw-p");
  EXPECT_EQ(ProtectionOf(p + 64), "---p");             // The guard after.
  EXPECT_EQ(ProtectionOf(p + 64 - page - 1), "---p");  // The guard before.
  EXPECT_EQ(ProtectionOf(p + 64 + page), "---p");      // A slot unused.
  pool.Deallocate(p);
  EXPECT_EQ(ProtectionOf(p), "---p");
}

TEST(GuardedPoolTest, AFullPoolRefusesUntilASlotIsFreed) {
  GuardedPool pool(4);
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) {
    blocks.push_back(pool.Allocate(32, 16));
    ASSERT_NE(blocks.back(), nullptr);
  }
  EXPECT_EQ(pool.Allocate(32, 16), nullptr);
  pool.Deallocate(blocks[2]);
  void* again = pool.Allocate(32, 16);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(PageOf(again), PageOf(blocks[2]));
  blocks[2] = again;
  EXPECT_EQ(pool.Allocate(32, 16), nullptr);
  for (void* p : blocks) pool.Deallocate(p);
}

TEST(GuardedPoolTest, FreedSlotsAreReusedLeastRecentlyFreedFirst) {
  GuardedPool pool(4, GuardedPlacement::kAgainstStart);
  std::vector<void*> blocks;
  for (int i = 0; i < 4; ++i) blocks.push_back(pool.Allocate(8, 8));
  for (const int i : {2, 0, 3}) pool.Deallocate(blocks[i]);
  // Against the start: a reused slot gives back the same address.
  EXPECT_EQ(pool.Allocate(8, 8), blocks[2]);
  pool.Deallocate(blocks[1]);
  EXPECT_EQ(pool.Allocate(8, 8), blocks[0]);
  EXPECT_EQ(pool.Allocate(8, 8), blocks[3]);
  EXPECT_EQ(pool.Allocate(8, 8), blocks[1]);
  EXPECT_EQ(pool.Allocate(8, 8), nullptr);
}

TEST(GuardedPoolTest, ThreadsAllocateAndFreeConcurrently) {
  GuardedPool pool(8);
  constexpr int kThreads = 4;
  constexpr int kRounds = 500;
  std::vector<std::thread> threads;
  std::vector<int> allocated(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&pool, &allocated, t] {
      for (int round = 0; round < kRounds; ++round) {
        const std::size_t size = 1 + static_cast<std::size_t>(round % 300);
        auto* p = static_cast<unsigned char*>(pool.Allocate(size, 8));
        if (p == nullptr) continue;  // Every slot taken for now.
        ++allocated[t];
        const auto mark = static_cast<unsigned char>(t + 1);
        std::memset(p, mark, size);
        EXPECT_EQ(pool.UsableSize(p), size);
        for (std::size_t i = 0; i < size; ++i) {
          if (p[i] != mark) {
            ADD_FAILURE() << "another thread wrote block " << p;
            break;
          }
        }
        pool.Deallocate(p);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_GT(allocated[t], 0) << t;
  // Every slot is free again.
  std::vector<void*> blocks;
  for (int i = 0; i < 8; ++i) {
    blocks.push_back(pool.Allocate(8, 8));
    EXPECT_NE(blocks.back(), nullptr);
  }
  for (void* p : blocks) pool.Deallocate(p);
}

TEST(GuardedPoolDeathTest, DoubleFreeIsReportedWithBothStacks) {
  GuardedPool pool(2);
  void* p = pool.Allocate(40, 8);
  ASSERT_NE(p, nullptr);
  pool.Deallocate(p);
  EXPECT_DEATH(pool.Deallocate(p),
               "rusty_malloc: double free of a guarded block: 0x[0-9a-f]+\n"
               "rusty_malloc: the 40-byte block at 0x[0-9a-f]+ was\n"
               "rusty_malloc: allocated by thread [0-9]+ at:\n"
               "rusty_malloc:   #0 0x.*"
               "rusty_malloc: freed by thread [0-9]+ at:\n"
               "rusty_malloc:   #0 0x.*"
               "rusty_malloc: and is now freed by thread [0-9]+ at:\n");
}

TEST(GuardedPoolDeathTest, FreeingInsideABlockIsReported) {
  GuardedPool pool(2);
  auto* p = static_cast<char*>(pool.Allocate(40, 8));
  ASSERT_NE(p, nullptr);
  EXPECT_DEATH(pool.Deallocate(p + 8),
               "rusty_malloc: invalid free of a guarded block: 0x[0-9a-f]+\n"
               "rusty_malloc: the 40-byte block at 0x[0-9a-f]+ was\n"
               "rusty_malloc: allocated by thread [0-9]+ at:\n");
  // A guard page holds no block.
  EXPECT_DEATH(pool.Deallocate(reinterpret_cast<void*>(pool.layout().base)),
               "invalid free of a guarded block");
  pool.Deallocate(p);
}

// The pure function's cases are in classify_fault_test; here, on the
// pool's own records.
TEST(GuardedPoolTest, ClassifiesFaultsAtItsBlocks) {
  GuardedPool pool(4);  // kAlternate: against the end, then the start.
  auto* freed = static_cast<char*>(pool.Allocate(64, 1));
  auto* at_start = static_cast<char*>(pool.Allocate(32, 1));
  auto* at_end = static_cast<char*>(pool.Allocate(64, 1));
  ASSERT_NE(freed, nullptr);
  ASSERT_NE(at_start, nullptr);
  ASSERT_NE(at_end, nullptr);
  pool.Deallocate(freed);
  const GuardedFault uaf = pool.Classify(freed + 16);
  EXPECT_EQ(uaf.kind, FaultKind::kUseAfterFree);
  EXPECT_EQ(uaf.slot, 0u);
  EXPECT_EQ(uaf.offset, 16);
  const GuardedFault overflow = pool.Classify(at_end + 64);
  EXPECT_EQ(overflow.kind, FaultKind::kBufferOverflow);
  EXPECT_EQ(overflow.slot, 2u);
  EXPECT_EQ(overflow.offset, 64);
  // Slot 1's guard page before it lies after the freed slot 0: the
  // allocated block is the one meant.
  const GuardedFault underflow = pool.Classify(at_start - 1);
  EXPECT_EQ(underflow.kind, FaultKind::kBufferUnderflow);
  EXPECT_EQ(underflow.slot, 1u);
  EXPECT_EQ(underflow.offset, -1);
  int outside = 0;
  EXPECT_EQ(pool.Classify(&outside).kind, FaultKind::kNotInPool);
  EXPECT_EQ(pool.Classify(nullptr).kind, FaultKind::kNotInPool);
  pool.Deallocate(at_start);
  pool.Deallocate(at_end);
}

}  // namespace
}  // namespace rusty_malloc

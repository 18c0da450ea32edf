#include "growers/mmap_grower.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "allocator/contiguous/raw_malloc.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"

namespace rusty_malloc {
namespace {

const std::size_t kPage = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

// Whether the byte at `p` can be read, asked of the kernel: write(2) from an
// inaccessible buffer fails with EFAULT where a load would fault.
bool IsReadWrite(const std::byte* p) {
  int fd[2];
  if (pipe(fd) != 0) return false;
  const ssize_t n = write(fd[1], p, 1);
  close(fd[0]);
  close(fd[1]);
  return n == 1;
}

TEST(MmapGrowerTest, ReservesLazilyAndCommitsAsItGrows) {
  MmapGrower grower(64 << 20, 64 * 1024);
  EXPECT_EQ(grower.Size(), 0u);
  EXPECT_EQ(grower.Reserved(), 0u);
  const std::size_t added = grower.Grow(32);
  EXPECT_GE(added, 32u);
  EXPECT_EQ(added % kGrowerAlignment, 0u);
  EXPECT_EQ(grower.Reserved(), std::size_t{64} << 20);
  EXPECT_EQ(grower.Size(), added);
  EXPECT_GE(grower.Committed(), grower.Size());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(grower.Base()) % kPage, 0u);
  std::memset(grower.Base(), 0x42, grower.Size());
  // Past the committed end the reservation is not accessible yet.
  EXPECT_FALSE(IsReadWrite(grower.Base() + grower.Committed()));
}

// The medium heap's way: a small first reservation that doubles in place.
TEST(MmapGrowerTest, ALazyReservationExtendsInPlace) {
  MmapGrower grower(std::size_t{1} << 30, 64 * 1024, 1 << 20);
  ASSERT_GT(grower.Grow(32), 0u);
  if (grower.Reserved() != std::size_t{1} << 20) {
    GTEST_SKIP() << "reserved at once (ASan and TSan own the layout)";
  }
  EXPECT_EQ(grower.Reserved(), std::size_t{1} << 20);
  std::byte* const base = grower.Base();
  base[0] = std::byte{7};
  while (grower.Size() < (std::size_t{20} << 20)) {
    ASSERT_GT(grower.Grow(std::size_t{3} << 20), 0u);
  }
  EXPECT_EQ(grower.Base(), base);
  EXPECT_GE(grower.Reserved(), grower.Size());
  EXPECT_LT(grower.Reserved(), std::size_t{64} << 20);  // Doubling, not 1 GiB.
  EXPECT_EQ(base[0], std::byte{7});
  std::memset(base, 0x42, grower.Size());
  ASSERT_TRUE(grower.Shrink(grower.Size()));
}

// Where something else took the addresses above, growth stops cleanly.
TEST(MmapGrowerTest, ALazyReservationStopsAtAddressesTaken) {
  MmapGrower grower(std::size_t{1} << 30, 64 * 1024, 1 << 20);
  ASSERT_GT(grower.Grow(32), 0u);
  if (grower.Reserved() != std::size_t{1} << 20) {
    GTEST_SKIP() << "reserved at once (ASan and TSan own the layout)";
  }
  std::byte* const above = grower.Base() + grower.Reserved();
  void* taken = mmap(above, kPage, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (taken != above) GTEST_SKIP() << "the address above was not free";
  const std::size_t size = grower.Size();
  EXPECT_EQ(grower.Grow(std::size_t{2} << 20), 0u);
  EXPECT_EQ(grower.Size(), size);
  EXPECT_EQ(grower.Reserved(), std::size_t{1} << 20);
  std::memset(grower.Base(), 0x42, grower.Size());
  munmap(taken, kPage);
}

// Growing in place in general: the typed tests in grower_test.cc.

TEST(MmapGrowerTest, RefusesGrowthPastTheReservation) {
  MmapGrower grower(1 << 20, 4096);
  EXPECT_EQ(grower.Grow((1 << 20) + 16), 0u);
  EXPECT_EQ(grower.Size(), 0u);
  ASSERT_GT(grower.Grow(1 << 20), 0u);
  EXPECT_EQ(grower.Grow(16), 0u);
  EXPECT_EQ(grower.Size(), std::size_t{1} << 20);
}

TEST(MmapGrowerTest, ShrinkDecommitsWholePagesAboveTheNewEnd) {
  MmapGrower grower(64 << 20, 4096);
  grower.Grow(1 << 20);
  std::byte* const base = grower.Base();
  std::memset(base, 0x33, grower.Size());
  EXPECT_FALSE(grower.Shrink(grower.Size() + 16));
  ASSERT_TRUE(grower.Shrink(grower.Size() - 4096 - 16));
  EXPECT_EQ(grower.Size(), 4096u + 16);
  EXPECT_EQ(grower.Committed(), 2 * kPage);
  EXPECT_TRUE(IsReadWrite(base + 4096));
  EXPECT_FALSE(IsReadWrite(base + 2 * kPage));
  // The kept bytes keep their contents; regrown pages come back zeroed.
  EXPECT_EQ(base[4096 + 15], std::byte{0x33});
  grower.Grow(1 << 20);
  EXPECT_EQ(base[3 * kPage], std::byte{0});
}

TEST(MmapGrowerTest, MoveTransfersTheReservation) {
  MmapGrower a(1 << 20, 4096);
  a.Grow(4096);
  std::byte* const base = a.Base();
  MmapGrower b(std::move(a));
  EXPECT_EQ(b.Base(), base);
  EXPECT_EQ(a.Base(), nullptr);
  EXPECT_EQ(a.Size(), 0u);
  base[0] = std::byte{1};
}

TEST(MmapGrowerTest, BacksAHeapThatTrimsThroughDecommit) {
  const RawMallocOptions options{.trim_threshold = 256 * 1024, .top_pad = 0};
  RawMalloc<MmapGrower> heap(MmapGrower(64 << 20, 4096), options);
  void* p = heap.Allocate(4 << 20);
  ASSERT_NE(p, nullptr);
  std::memset(p, 7, 4 << 20);
  heap.Deallocate(p);
  EXPECT_LE(heap.grower().Committed(), 2 * kPage);
  testing::ExpectIntact(heap);
}

}  // namespace
}  // namespace rusty_malloc

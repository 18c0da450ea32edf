#include "allocator/common/os_memory.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"
#include "testing/resident.h"

namespace rusty_malloc {
namespace {

TEST(OsMemoryTest, PageSizeIsAPowerOfTwoOfAtLeastTheSmallest) {
  const std::size_t os_page = OsPageSize();
  EXPECT_GE(os_page, kOsPage);
  EXPECT_EQ(os_page & (os_page - 1), 0u);
  EXPECT_EQ(os_page % kOsPage, 0u);
}

TEST(OsMemoryTest, MapGivesZeroedWritableMemory) {
  const std::size_t bytes = 3 * OsPageSize();
  auto* p = static_cast<unsigned char*>(Map(bytes));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % OsPageSize(), 0u);
  for (std::size_t i = 0; i < bytes; ++i) ASSERT_EQ(p[i], 0) << i;
  std::memset(p, 0xab, bytes);
  Unmap(p, bytes);
}

TEST(OsMemoryTest, MapRefusesWhatNoMappingCanHold) {
  errno = 0;
  EXPECT_EQ(Map(SIZE_MAX - OsPageSize() + 1), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(OsMemoryTest, ReservedPagesCostNothingUntilCommitted) {
  const std::size_t os_page = OsPageSize();
  const std::size_t bytes = 8 * os_page;
  auto* p = static_cast<unsigned char*>(Reserve(bytes));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(testing::ResidentPages(p, bytes), 0u);
  ASSERT_TRUE(Commit(p + os_page, 2 * os_page));
  std::memset(p + os_page, 1, 2 * os_page);
  EXPECT_EQ(testing::ResidentPages(p, bytes), 2u);
  ASSERT_TRUE(ReplaceWithReserved(p + os_page, 2 * os_page));
  EXPECT_EQ(testing::ResidentPages(p, bytes), 0u);
  // Committed again, the pages are fresh.
  ASSERT_TRUE(Commit(p + os_page, os_page));
  EXPECT_EQ(p[os_page], 0);
  Unmap(p, bytes);
}

TEST(OsMemoryTest, DecommittedPagesReadAsZero) {
  const std::size_t bytes = 4 * OsPageSize();
  auto* p = static_cast<unsigned char*>(Map(bytes));
  ASSERT_NE(p, nullptr);
  std::memset(p, 7, bytes);
  Decommit(p, bytes);
  EXPECT_EQ(testing::ResidentPages(p, bytes), 0u);
  EXPECT_EQ(p[0], 0);
  EXPECT_EQ(p[bytes - 1], 0);
  Unmap(p, bytes);
}

TEST(OsMemoryTest, ReserveAtExtendsInPlaceButNeverOverAMapping) {
  const std::size_t os_page = OsPageSize();
  auto* p = static_cast<unsigned char*>(Reserve(4 * os_page));
  ASSERT_NE(p, nullptr);
  // Free the top half, then take it back at exactly its address.
  Unmap(p + 2 * os_page, 2 * os_page);
  ASSERT_TRUE(ReserveAt(p + 2 * os_page, 2 * os_page));
  // Taken now: a second reservation there fails and leaves it alone.
  EXPECT_FALSE(ReserveAt(p + 2 * os_page, os_page));
  ASSERT_TRUE(Commit(p, 4 * os_page));
  p[4 * os_page - 1] = 1;
  Unmap(p, 4 * os_page);
}

TEST(OsMemoryTest, ReserveToExtendGivesAReservation) {
  const std::size_t bytes = 16 * OsPageSize();
  void* p = ReserveToExtend(bytes);
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(Commit(p, bytes));
  static_cast<unsigned char*>(p)[bytes - 1] = 1;
  Unmap(p, bytes);
}

TEST(OsMemoryTest, RemapKeepsContents) {
  const std::size_t os_page = OsPageSize();
  auto* p = static_cast<unsigned char*>(Map(os_page));
  ASSERT_NE(p, nullptr);
  p[0] = 42;
  auto* grown = static_cast<unsigned char*>(Remap(p, os_page, 64 * os_page));
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(grown[0], 42);
  EXPECT_EQ(grown[64 * os_page - 1], 0);
  auto* shrunk =
      static_cast<unsigned char*>(Remap(grown, 64 * os_page, os_page));
  ASSERT_EQ(shrunk, grown);  // Shrinking never moves.
  EXPECT_EQ(shrunk[0], 42);
  Unmap(shrunk, os_page);
}

TEST(OsMemoryTest, RemapFailureLeavesTheMapping) {
  const std::size_t os_page = OsPageSize();
  auto* p = static_cast<unsigned char*>(Map(os_page));
  ASSERT_NE(p, nullptr);
  p[0] = 5;
  errno = 0;
  EXPECT_EQ(Remap(p, os_page, SIZE_MAX - os_page + 1), nullptr);
  EXPECT_NE(errno, 0);
  EXPECT_EQ(p[0], 5);
  Unmap(p, os_page);
}

TEST(OsMemoryTest, RestoreFreshAttributesUndoesProtection) {
  const std::size_t os_page = OsPageSize();
  auto* p = static_cast<unsigned char*>(Map(2 * os_page));
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(ReplaceWithReserved(p + os_page, os_page));  // A guard page.
  ASSERT_TRUE(RestoreFreshAttributes(p, 2 * os_page));
  p[2 * os_page - 1] = 1;
  Unmap(p, 2 * os_page);
}

}  // namespace
}  // namespace rusty_malloc

#include "allocator/contiguous/freelist.h"

#include <cstddef>
#include <cstring>
#include <vector>

#include "allocator/contiguous/header.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

// Free blocks laid out 8 mod 16 in one arena, not adjacent to each other
// (list tests do not care), each of a chosen size.
class FreeListTest : public ::testing::Test {
 protected:
  Block* MakeFree(std::size_t size) {
    Block* b = Block::At(arena_ + kHeaderSize + used_);
    b->WriteFree(size, false);
    used_ += size + 64;
    return b;
  }
  std::vector<Block*> ListOrder(const FreeList& list) {
    std::vector<Block*> order;
    for (Block* b = list.Front(); b != nullptr; b = FreeList::NextOf(b)) {
      order.push_back(b);
    }
    return order;
  }

  alignas(64) std::byte arena_[16384];
  std::size_t used_ = 0;
};

TEST_F(FreeListTest, InsertPushesOnTheFront) {
  FreeList list;
  EXPECT_TRUE(list.empty());
  Block* a = MakeFree(32);
  Block* b = MakeFree(64);
  Block* c = MakeFree(96);
  list.Insert(a);
  list.Insert(b);
  list.Insert(c);
  EXPECT_EQ(ListOrder(list), (std::vector<Block*>{c, b, a}));
}

TEST_F(FreeListTest, RemoveUnlinksFromFrontMiddleAndBack) {
  FreeList list;
  Block* a = MakeFree(32);
  Block* b = MakeFree(32);
  Block* c = MakeFree(32);
  Block* d = MakeFree(32);
  for (Block* x : {a, b, c, d}) list.Insert(x);
  list.Remove(b);  // middle
  EXPECT_EQ(ListOrder(list), (std::vector<Block*>{d, c, a}));
  list.Remove(d);  // front
  EXPECT_EQ(ListOrder(list), (std::vector<Block*>{c, a}));
  list.Remove(a);  // back
  EXPECT_EQ(ListOrder(list), (std::vector<Block*>{c}));
  EXPECT_TRUE(list.CheckLinks(1, [](Block*) { return true; }).ok());
  list.Remove(c);
  EXPECT_TRUE(list.empty());
}

TEST_F(FreeListTest, FindFitIsFirstFitFromTheFrontNotBestFit) {
  FreeList list;
  Block* big = MakeFree(512);
  Block* exact = MakeFree(64);
  Block* small = MakeFree(32);
  list.Insert(exact);
  list.Insert(big);
  list.Insert(small);  // Order: small, big, exact.
  EXPECT_EQ(list.FindFit(64, kGranule), big);
  EXPECT_EQ(list.FindFit(32, kGranule), small);
  EXPECT_EQ(list.FindFit(1024, kGranule), nullptr);
}

TEST_F(FreeListTest, FindFitAccountsForTheAlignmentGap) {
  FreeList list;
  // 80 bytes hold 64 at 16 alignment, but not at 4096 (no room for a gap).
  Block* b = MakeFree(80);
  list.Insert(b);
  EXPECT_EQ(list.FindFit(64, kGranule), b);
  EXPECT_EQ(list.FindFit(64, 4096), nullptr);
  Block* roomy = MakeFree(8192);
  list.Insert(roomy);
  EXPECT_EQ(list.FindFit(64, 4096), roomy);
}

TEST_F(FreeListTest, CheckLinksAcceptsAConsistentList) {
  FreeList list;
  for (int i = 0; i < 5; ++i) list.Insert(MakeFree(32));
  EXPECT_TRUE(list.CheckLinks(5, [](Block*) { return true; }).ok());
}

TEST_F(FreeListTest, CheckLinksReportsACountMismatch) {
  FreeList list;
  for (int i = 0; i < 3; ++i) list.Insert(MakeFree(32));
  EXPECT_FALSE(list.CheckLinks(4, [](Block*) { return true; }).ok());
  EXPECT_FALSE(list.CheckLinks(2, [](Block*) { return true; }).ok());
}

TEST_F(FreeListTest, CheckLinksReportsANodeThatIsNotFree) {
  FreeList list;
  Block* a = MakeFree(32);
  list.Insert(a);
  const HeapReport report = list.CheckLinks(1, [](Block*) { return false; });
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.where, a);
}

TEST_F(FreeListTest, CheckLinksReportsABrokenBackLinkAndACycle) {
  FreeList list;
  Block* a = MakeFree(32);
  Block* b = MakeFree(32);
  list.Insert(a);
  list.Insert(b);  // b -> a
  // Point a's back link at itself: a stale link.
  Block* self = a;
  std::memcpy(static_cast<std::byte*>(a->Payload()) + sizeof(Block*), &self,
              sizeof(self));
  HeapReport report = list.CheckLinks(2, [](Block*) { return true; });
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.where, a);
  // a -> b: a cycle, which a bounded walk must stop on.
  std::memcpy(a->Payload(), &b, sizeof(b));
  report = list.CheckLinks(2, [](Block*) { return true; });
  EXPECT_FALSE(report.ok());
}

}  // namespace
}  // namespace rusty_malloc

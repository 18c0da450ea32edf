// A damaged heap and pointers that are not a block's start, on RawMalloc
// and RustyMalloc: Verify() names the damage; a double free, a foreign or
// interior pointer, or one past a stale end marker or a forged header
// aborts.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/live_blocks.h"
#include "testing/patterns.h"
#include "testing/raw_malloc_fixture.h"
#include "testing/test_growers.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

// Overwrites heap metadata the way a client bug would. Under ASan the
// metadata is poisoned, so the test lifts the poison first: these tests are
// about what Verify() sees, not about ASan.
template <typename T>
void Corrupt(void* at, T value) {
  Unpoison(at, sizeof(T));
  std::memcpy(at, &value, sizeof(T));
}

// Verify() must bite: damage the heap by hand and expect it named.
TYPED_TEST(RawMallocTest, VerifyNamesAnOverwrittenHeader) {
  void* a = this->heap_.Allocate(64);
  void* b = this->heap_.Allocate(64);
  ASSERT_NE(b, nullptr);
  // Emulate a client overrunning `a` into b's header (no ASan involved:
  // reach the header through raw memory the test owns anyway).
  Corrupt(static_cast<std::byte*>(b) - kHeaderSize,
          std::uint64_t{0x4141414141414141});
  const HeapReport report = this->heap_.Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.where, static_cast<std::byte*>(b) - kHeaderSize);
  EXPECT_NE(report.ToString().find("check tag"), std::string::npos);
  (void)a;
}

TYPED_TEST(RawMallocTest, VerifyNamesADamagedFooter) {
  void* a = this->heap_.Allocate(256);
  void* guard = this->heap_.Allocate(16);
  this->heap_.Deallocate(a);
  Corrupt(static_cast<std::byte*>(guard) - 2 * kHeaderSize, std::size_t{16});
  const HeapReport report = this->heap_.Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.ToString().find("footer"), std::string::npos);
}

TYPED_TEST(RawMallocTest, VerifyNamesABrokenFreeListLink) {
  void* a = this->heap_.Allocate(256);
  void* g1 = this->heap_.Allocate(16);
  void* b = this->heap_.Allocate(256);
  void* g2 = this->heap_.Allocate(16);
  ASSERT_NE(g1, nullptr);
  ASSERT_NE(g2, nullptr);
  this->heap_.Deallocate(a);
  this->heap_.Deallocate(b);
  // b's next link, the first word of its payload, now points into a block.
  Corrupt(b, static_cast<void*>(static_cast<std::byte*>(g1) - kHeaderSize));
  const HeapReport report = this->heap_.Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.ToString().find("free list"), std::string::npos)
      << report.ToString();
}

template <typename Heap>
class RawMallocDeathTest : public RawMallocTest<Heap> {};
TYPED_TEST_SUITE(RawMallocDeathTest, Heaps);

TYPED_TEST(RawMallocDeathTest, DoubleFreeAbortsNamingThePointer) {
  void* p = this->heap_.Allocate(48);
  void* guard = this->heap_.Allocate(48);
  ASSERT_NE(guard, nullptr);
  this->heap_.Deallocate(p);
  EXPECT_DEATH(this->heap_.Deallocate(p),
               "rusty_malloc: double free.*0x0*[0-9a-f]+");
}

TYPED_TEST(RawMallocDeathTest,
           DoubleFreeIsCaughtAfterAMergeIntoTheLeftNeighbour) {
  void* left = this->heap_.Allocate(48);
  void* p = this->heap_.Allocate(48);
  void* guard = this->heap_.Allocate(48);
  ASSERT_NE(guard, nullptr);
  this->heap_.Deallocate(left);
  this->heap_.Deallocate(p);  // Merged into left; p's header is now inside it.
  EXPECT_DEATH(this->heap_.Deallocate(p), "double free");
}

TYPED_TEST(RawMallocDeathTest, ForeignPointerAborts) {
  ASSERT_NE(this->heap_.Allocate(8), nullptr);
  alignas(16) static char outside[32];
  EXPECT_DEATH(this->heap_.Deallocate(outside), "not allocated by this heap");
  EXPECT_DEATH(static_cast<void>(this->heap_.UsableSize(outside)),
               "not allocated by this heap");
  EXPECT_DEATH(static_cast<void>(this->heap_.Reallocate(outside, 10)),
               "not allocated by this heap");
}

TYPED_TEST(RawMallocDeathTest, FreeBeforeAnyAllocationAborts) {
  alignas(16) static char outside[32];
  EXPECT_DEATH(this->heap_.Deallocate(outside), "not allocated by this heap");
}

TYPED_TEST(RawMallocDeathTest, PointerInsideABlockAborts) {
  auto* p = static_cast<std::byte*>(this->heap_.Allocate(256));
  std::memset(p, 0, 256);
  EXPECT_DEATH(this->heap_.Deallocate(p + 64), "not the start of a block");
  EXPECT_DEATH(this->heap_.Deallocate(p + 8), "not allocated by this heap");
}

TYPED_TEST(RawMallocDeathTest, ReallocOfAFreedBlockAborts) {
  void* p = this->heap_.Allocate(48);
  void* guard = this->heap_.Allocate(48);
  ASSERT_NE(guard, nullptr);
  this->heap_.Deallocate(p);
  EXPECT_DEATH(static_cast<void>(this->heap_.Reallocate(p, 100)),
               "double free");
}

// A request of no particular size class.
constexpr std::size_t kRequest = 1000;

// Neither IsLiveBlock nor a free takes `p` for the start of a block.
template <typename Heap>
void ExpectNotAStart(Heap& heap, void* p) {
  EXPECT_FALSE(heap.IsLiveBlock(p));
  EXPECT_DEATH(heap.Deallocate(p), kNotAStart);
}

// The locked allocators, on a TestGrower so the layout is known.
template <typename T>
class LockedHeapInteriorPointerDeathTest : public ::testing::Test {};
using LockedHeaps =
    ::testing::Types<RawMalloc<TestGrower>, RustyMalloc<TestGrower>>;
class LockedHeapNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, RawMalloc<TestGrower>> ? "RawMalloc"
                                                    : "RustyMalloc";
  }
};
TYPED_TEST_SUITE(LockedHeapInteriorPointerDeathTest, LockedHeaps,
                 LockedHeapNames);

TYPED_TEST(LockedHeapInteriorPointerDeathTest, InteriorPointersAreNotLive) {
  TypeParam heap(TestGrower(std::size_t{1} << 20));
  std::vector<char*> blocks;
  for (const std::size_t size :
       {std::size_t{0}, std::size_t{24}, std::size_t{100}, kRequest,
        std::size_t{5000}, std::size_t{70000}}) {
    char* p = AllocateWithOnlyItsStartLive(heap, size);
    ASSERT_NE(p, nullptr);
    blocks.push_back(p);
  }
  char* p = blocks[3];
  EXPECT_DEATH(heap.Deallocate(p + 16), kNotAStart);
  EXPECT_DEATH(heap.Deallocate(p + 512), kNotAStart);
  EXPECT_DEATH(heap.Deallocate(p + 8),
               "pointer was not allocated by this heap");
  heap.Deallocate(p);
  EXPECT_DEATH(heap.Deallocate(p), kDoubleFree);
  blocks.erase(blocks.begin() + 3);
  for (char* b : blocks) heap.Deallocate(b);
  ExpectIntact(heap);
}

// Growth with a free block on top merges the old end marker into that block
// (RawMalloc::ExtendHeap) and leaves its header behind: a tagged, occupied
// header of size 0, inside whatever block is carved there next.
TYPED_TEST(LockedHeapInteriorPointerDeathTest, PointerPastAStaleEndMarker) {
  TypeParam heap(TestGrower(std::size_t{1} << 20));
  void* below = heap.Allocate(100);
  auto* top = static_cast<char*>(heap.Allocate(kRequest));
  ASSERT_NE(top, nullptr);
  // The heap grows by exactly what each block needs: `top` ends at the end
  // marker.
  char* const stale = top + BlockSizeFor(kRequest);
  if constexpr (std::is_same_v<TypeParam, RawMalloc<TestGrower>>) {
    ASSERT_EQ(stale - kHeaderSize,
              reinterpret_cast<char*>(heap.grower().Base()) +
                  heap.grower().Size() - kHeaderSize);
  }
  heap.Deallocate(top);
  auto* grown = static_cast<char*>(heap.Allocate(4 * kRequest));
  ASSERT_EQ(grown, top);
  ASSERT_GT(stale, grown);
  ASSERT_LT(stale, grown + heap.UsableSize(grown));
  // The client writes around the stale header, not over it.
  FillPattern(grown, static_cast<std::size_t>(stale - kHeaderSize - grown), 1);
  ExpectNotAStart(heap, stale);
  heap.Deallocate(grown);
  heap.Deallocate(below);
  ExpectIntact(heap);
}

// Trimming writes a new end marker below the old one; growing again merges
// both into the top block.
TYPED_TEST(LockedHeapInteriorPointerDeathTest, PointersPastTrimmedEndMarkers) {
  const RawMallocOptions options{.trim_threshold = 64 * 1024, .top_pad = 0};
  TypeParam heap(TestGrower(std::size_t{1} << 20), options);
  void* below = heap.Allocate(100);
  auto* top = static_cast<char*>(heap.Allocate(100000));
  ASSERT_NE(top, nullptr);
  char* const old_end = top + BlockSizeFor(100000);
  heap.Deallocate(top);  // Trimmed to a minimal free block.
  char* const trimmed_end = top + kMinBlockSize;
  auto* grown = static_cast<char*>(heap.Allocate(200000));
  ASSERT_EQ(grown, top);
  ASSERT_LT(old_end, grown + heap.UsableSize(grown));
  for (char* stale : {trimmed_end, old_end}) {
    ExpectNotAStart(heap, stale);
  }
  heap.Deallocate(grown);
  heap.Deallocate(below);
  ExpectIntact(heap);
}

// A block grown in place over a free neighbour keeps that neighbour's free
// header inside it.
TYPED_TEST(LockedHeapInteriorPointerDeathTest, FormerNeighbourIsADoubleFree) {
  TypeParam heap(TestGrower(std::size_t{1} << 20));
  auto* a = static_cast<char*>(heap.Allocate(200));
  auto* b = static_cast<char*>(heap.Allocate(200));
  void* c = heap.Allocate(200);
  heap.Deallocate(b);
  ASSERT_EQ(heap.Reallocate(a, 300), a);
  ASSERT_LT(b, a + heap.UsableSize(a));
  EXPECT_FALSE(heap.IsLiveBlock(b));
  EXPECT_DEATH(heap.Deallocate(b), kDoubleFree);
  heap.Deallocate(a);
  heap.Deallocate(c);
}

// A header-shaped word in a payload is not enough: the header after it must
// be tagged and must know its left neighbour is in use.
TYPED_TEST(LockedHeapInteriorPointerDeathTest, OneForgedHeaderIsNotEnough) {
  TypeParam heap(TestGrower(std::size_t{1} << 20));
  auto* p = static_cast<char*>(heap.Allocate(kRequest));
  FillPattern(p, kRequest, 3);
  char* const forged = p + 256;
  Block* const header = Block::FromPayload(forged);
  Block* const next = Block::At(header->Address() + 64);
  header->WriteOccupied(64, false);
  // The next header tagged, but saying its left neighbour is free.
  next->WriteOccupied(64, true);
  ExpectNotAStart(heap, forged);
  // The next header with its tag broken.
  next->WriteOccupied(64, false);
  std::uint64_t word;
  std::memcpy(&word, next->Address(), sizeof(word));
  word ^= std::uint64_t{1} << 63;
  std::memcpy(next->Address(), &word, sizeof(word));
  ExpectNotAStart(heap, forged);
  heap.Deallocate(p);
}

}  // namespace
}  // namespace rusty_malloc::testing

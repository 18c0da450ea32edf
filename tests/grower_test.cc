#include "growers/grower.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "allocator/contiguous/raw_malloc.h"
#include "growers/brk_grower.h"
#include "growers/buffer_grower.h"
#include "growers/mmap_grower.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/malloc_off_the_break.h"
#include "testing/test_growers.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::ExpectIntact;
using ::rusty_malloc::testing::TestGrower;

static_assert(Grower<BrkGrower>);
static_assert(Grower<MmapGrower>);
static_assert(Grower<BufferGrower>);

// A user's own grower, as the original crate's docs suggest: a stack buffer
// handed out and taken back a kilobyte at a time.
class StackGrower {
 public:
  static constexpr std::size_t kStep = 1024;

  std::size_t Grow(std::size_t min_bytes) {
    const std::size_t bytes = (min_bytes + kStep - 1) / kStep * kStep;
    if (bytes > sizeof(bytes_) - size_) return 0;
    size_ += bytes;
    return bytes;
  }
  bool Shrink(std::size_t bytes) {
    if (bytes % kStep != 0 || bytes > size_) return false;
    size_ -= bytes;
    return true;
  }
  std::byte* Base() const { return const_cast<std::byte*>(bytes_); }
  std::size_t Size() const { return size_; }

 private:
  alignas(kGrowerAlignment) std::byte bytes_[64 * 1024];
  std::size_t size_ = 0;
};

static_assert(Grower<StackGrower>);

struct NoShrink {
  std::size_t Grow(std::size_t);
  std::byte* Base() const;
  std::size_t Size() const;
};
struct GrowReturnsPointer {
  std::byte* Grow(std::size_t);
  bool Shrink(std::size_t);
  std::byte* Base() const;
  std::size_t Size() const;
};
struct MutableBase {
  std::size_t Grow(std::size_t);
  bool Shrink(std::size_t);
  std::byte* Base();
  std::size_t Size() const;
};
static_assert(!Grower<NoShrink>);
static_assert(!Grower<GrowReturnsPointer>);
static_assert(!Grower<MutableBase>);
static_assert(!Grower<int>);

// Every grower, for the typed tests of the contract in growers/grower.h:
// Make() builds one with room for 64 KiB or more.
template <typename G>
class GrowerContractTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::KeepMallocOffTheBreak(); }

  G Make() {
    if constexpr (std::is_same_v<G, BrkGrower>) {
      return BrkGrower(4096);
    } else if constexpr (std::is_same_v<G, MmapGrower>) {
      return MmapGrower(64 << 20, 4096);
    } else if constexpr (std::is_same_v<G, BufferGrower>) {
      return BufferGrower(buffer_);
    } else if constexpr (std::is_same_v<G, TestGrower>) {
      return TestGrower(64 << 10);
    } else {
      return G();
    }
  }

 private:
  alignas(kGrowerAlignment) std::byte buffer_[64 * 1024];
};

using Growers = ::testing::Types<BrkGrower, MmapGrower, BufferGrower,
                                 TestGrower, StackGrower>;

class GrowerNames {
 public:
  template <typename G>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<G, BrkGrower>) return "BrkGrower";
    if constexpr (std::is_same_v<G, MmapGrower>) return "MmapGrower";
    if constexpr (std::is_same_v<G, BufferGrower>) return "BufferGrower";
    if constexpr (std::is_same_v<G, TestGrower>) return "TestGrower";
    return "StackGrower";
  }
};

TYPED_TEST_SUITE(GrowerContractTest, Growers, GrowerNames);

bool Aligned(const std::byte* p) {
  return reinterpret_cast<std::uintptr_t>(p) % kGrowerAlignment == 0;
}

TYPED_TEST(GrowerContractTest, GrowsAndShrinksAtItsEndOnly) {
  TypeParam grower = this->Make();
  EXPECT_EQ(grower.Size(), 0u);
  ASSERT_GE(grower.Grow(16), 16u);
  std::byte* const base = grower.Base();
  EXPECT_TRUE(Aligned(base));
  std::size_t size = grower.Size();
  EXPECT_EQ(size % kGrowerAlignment, 0u);
  for (int i = 0; i < 8; ++i) {
    const std::size_t added = grower.Grow(4096);
    ASSERT_GE(added, 4096u);
    EXPECT_EQ(added % kGrowerAlignment, 0u);
    size += added;
    EXPECT_EQ(grower.Base(), base);
    EXPECT_EQ(grower.Size(), size);
  }
  std::memset(base, 0x5a, size);
  // Every grower here refuses more than it has.
  EXPECT_FALSE(grower.Shrink(size + kGrowerAlignment));
  EXPECT_EQ(grower.Size(), size);
  // Part of it back, keeping what is below, and grown again in place.
  ASSERT_TRUE(grower.Shrink(4096));
  EXPECT_EQ(grower.Size(), size - 4096);
  EXPECT_EQ(base[size - 4097], std::byte{0x5a});
  EXPECT_GE(grower.Grow(4096), 4096u);
  EXPECT_EQ(grower.Base(), base);
  std::memset(base, 0xa5, grower.Size());
  EXPECT_TRUE(grower.Shrink(grower.Size()));
  EXPECT_EQ(grower.Size(), 0u);
}

TYPED_TEST(GrowerContractTest, BacksAHeap) {
  RawMalloc<TypeParam> heap{this->Make()};
  void* a = heap.Allocate(1000);
  void* b = heap.Allocate(2000);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::memset(a, 1, 1000);
  std::memset(b, 2, 2000);
  EXPECT_GT(heap.grower().Size(), 0u);
  heap.Deallocate(a);
  heap.Deallocate(b);
  ExpectIntact(heap);
  // Hands the program break back, for the tests that follow.
  EXPECT_TRUE(heap.grower().Shrink(heap.grower().Size()));
}

// A grower that breaks its contract: it reports more bytes than it added,
// so a heap trusting it would lay blocks past its end.
class OverclaimingGrower : public StackGrower {
 public:
  std::size_t Grow(std::size_t min_bytes) {
    const std::size_t added = StackGrower::Grow(min_bytes);
    return added == 0 ? 0 : added + kStep;
  }
};

TEST(GrowerDeathTest, AHeapStopsAtAGrowerThatBreaksItsContract) {
  EXPECT_DEATH(
      {
        RawMalloc<OverclaimingGrower> heap{OverclaimingGrower()};
        (void)heap.Allocate(100);
      },
      "rusty_malloc: check failed: .*heap_top.h");
}

// A global heap is constant-initialised, so it works before main().
constinit RawMalloc<BrkGrower> global_heap{BrkGrower(4096)};

TEST(GrowerTest, AllocatorsOverConstexprGrowersAreConstantInitialised) {
  EXPECT_EQ(global_heap.grower().Size(), 0u);
  ExpectIntact(global_heap);
}

}  // namespace
}  // namespace rusty_malloc

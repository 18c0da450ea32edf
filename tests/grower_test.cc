#include "growers/grower.h"

#include <cstddef>
#include <cstring>

#include "allocator/contiguous/raw_malloc.h"
#include "growers/brk_grower.h"
#include "growers/buffer_grower.h"
#include "growers/mmap_grower.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

static_assert(Grower<BrkGrower>);
static_assert(Grower<MmapGrower>);
static_assert(Grower<BufferGrower>);

// A user's own grower, as the original crate's docs suggest: a stack buffer
// that counts how often it was asked.
class StackGrower {
 public:
  std::size_t Grow(std::size_t min_bytes) {
    ++grows_;
    if (min_bytes > sizeof(bytes_) - size_) return 0;
    size_ += min_bytes;
    return min_bytes;
  }
  bool Shrink(std::size_t bytes) {
    if (bytes > size_) return false;
    size_ -= bytes;
    return true;
  }
  std::byte* Base() const { return const_cast<std::byte*>(bytes_); }
  std::size_t Size() const { return size_; }
  int grows() const { return grows_; }

 private:
  alignas(kGrowerAlignment) std::byte bytes_[8192];
  std::size_t size_ = 0;
  int grows_ = 0;
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

TEST(GrowerTest, AUserDefinedGrowerBacksAHeap) {
  RawMalloc<StackGrower> heap{StackGrower()};
  void* a = heap.Allocate(1000);
  void* b = heap.Allocate(2000);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::memset(a, 1, 1000);
  std::memset(b, 2, 2000);
  EXPECT_GE(heap.grower().grows(), 1);
  EXPECT_EQ(heap.Allocate(8192), nullptr);
  heap.Deallocate(a);
  heap.Deallocate(b);
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().ToString();
}

// A global heap is constant-initialised, so it works before main().
constinit RawMalloc<BrkGrower> global_heap{BrkGrower(4096)};

TEST(GrowerTest, AllocatorsOverConstexprGrowersAreConstantInitialised) {
  EXPECT_EQ(global_heap.grower().Size(), 0u);
  EXPECT_TRUE(global_heap.Verify().ok());
}

}  // namespace
}  // namespace rusty_malloc

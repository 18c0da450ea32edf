#include "allocator/common/heap.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "allocator/adaptors/heap_allocator.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/medium_heap.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "growers/buffer_grower.h"
#include "growers/mmap_grower.h"
#include "gtest/gtest.h"
#include "testing/test_growers.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::TestGrower;

static_assert(Heap<RawMalloc<BufferGrower>>);
static_assert(Heap<RustyMalloc<MmapGrower>>);
static_assert(Heap<PerThreadMalloc<MmapChunkSource>>);
static_assert(Heap<DefaultMediumHeap>);
static_assert(HeapAllocator<RawMalloc<BufferGrower>>);  // The former name.

// The abilities each heap has, as the C interface and the per-thread
// allocator see them.
static_assert(HasFastPath<PerThreadMalloc<MmapChunkSource>>);
static_assert(!HasFastPath<RawMalloc<BufferGrower>>);
static_assert(HasSizedFree<PerThreadMalloc<MmapChunkSource>>);
static_assert(!HasSizedFree<RustyMalloc<MmapGrower>>);
static_assert(HasZeroedAllocation<PerThreadMalloc<MmapChunkSource>>);
static_assert(HasZeroedAllocation<DefaultMediumHeap>);
static_assert(CanReleaseFreeMemory<PerThreadMalloc<MmapChunkSource>>);
static_assert(CanReleaseFreeMemory<RustyMalloc<MmapGrower>>);
static_assert(CanPurgeWhenDue<DefaultMediumHeap>);
static_assert(CanDecommit<MmapChunkSource>);

struct NoDeallocate {
  void* Allocate(std::size_t, std::size_t);
};
struct WrongReturn {
  int Allocate(std::size_t, std::size_t);
  void Deallocate(void*);
};
struct NoReallocate {
  void* Allocate(std::size_t, std::size_t);
  void Deallocate(void*);
  std::size_t UsableSize(void*);
};
static_assert(!Heap<NoDeallocate>);
static_assert(!Heap<WrongReturn>);
static_assert(!Heap<NoReallocate>);

// A function that takes any Heap, as the adaptors do.
template <Heap A>
bool RoundTrip(A& heap) {
  void* p = heap.Allocate(64, 64);
  const bool ok = p != nullptr && reinterpret_cast<std::uintptr_t>(p) % 64 == 0;
  heap.Deallocate(p);
  return ok;
}

// Every allocator, for the typed tests: heap() is a fresh one per test.
template <typename Heap>
class HeapTest : public ::testing::Test {
 protected:
  Heap& heap() { return *heap_; }

 private:
  static std::unique_ptr<Heap> Make() {
    if constexpr (std::is_same_v<Heap, RustyMalloc<MmapGrower>>) {
      return std::make_unique<Heap>(MmapGrower(1 << 20));
    } else if constexpr (std::is_same_v<Heap,
                                        PerThreadMalloc<MmapChunkSource>>) {
      return std::make_unique<Heap>(std::size_t{64} << 20);
    } else {
      return std::make_unique<Heap>(TestGrower(1 << 20));
    }
  }

  std::unique_ptr<Heap> heap_ = Make();
};

using Heaps =
    ::testing::Types<RawMalloc<TestGrower>,
                     RawMalloc<TestGrower, SegregatedFreeList>,
                     RustyMalloc<MmapGrower>, PerThreadMalloc<MmapChunkSource>>;
TYPED_TEST_SUITE(HeapTest, Heaps);

TYPED_TEST(HeapTest, WorksThroughTheConcept) {
  EXPECT_TRUE(RoundTrip(this->heap()));
}

}  // namespace
}  // namespace rusty_malloc

#include "allocator/adaptors/heap_allocator.h"

#include <cstddef>

#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "growers/buffer_grower.h"
#include "growers/mmap_grower.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

static_assert(HeapAllocator<RawMalloc<BufferGrower>>);
static_assert(HeapAllocator<RustyMalloc<MmapGrower>>);
static_assert(HeapAllocator<PerThreadMalloc<MmapChunkSource>>);

struct NoDeallocate {
  void* Allocate(std::size_t, std::size_t);
};
struct WrongReturn {
  int Allocate(std::size_t, std::size_t);
  void Deallocate(void*);
};
static_assert(!HeapAllocator<NoDeallocate>);
static_assert(!HeapAllocator<WrongReturn>);

// A function that takes any HeapAllocator, as the adaptors do.
template <HeapAllocator A>
bool RoundTrip(A& heap) {
  void* p = heap.Allocate(64, 64);
  const bool ok = p != nullptr && reinterpret_cast<std::uintptr_t>(p) % 64 == 0;
  heap.Deallocate(p);
  return ok;
}

TEST(HeapAllocatorTest, EveryAllocatorWorksThroughTheConcept) {
  alignas(16) std::byte storage[8192];
  RawMalloc<BufferGrower> raw{BufferGrower(storage)};
  RustyMalloc<MmapGrower> locked(MmapGrower(1 << 20));
  PerThreadMalloc<MmapChunkSource> per_thread(std::size_t{64} << 20);
  EXPECT_TRUE(RoundTrip(raw));
  EXPECT_TRUE(RoundTrip(locked));
  EXPECT_TRUE(RoundTrip(per_thread));
}

}  // namespace
}  // namespace rusty_malloc

// PerThreadMalloc over both chunk sources: which heap serves each size and
// alignment, realloc, a model of the heap, sixteen threads at once, Verify(),
// a thread heap it cannot map, and the frees that abort.

#include "allocator/per_thread/per_thread_malloc.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/drop_in/c_api.h"
#include "allocator/large/large_heap.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/free_block.h"
#include "allocator/per_thread/medium_heap.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/thread_binding.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/heap_model.h"
#include "testing/patterns.h"
#include "testing/per_thread_sources.h"
#include "testing/resident.h"
#include "testing/stress.h"
#include "testing/test_growers.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

TYPED_TEST(PerThreadMallocTest, SmallSizesComeFromChunksOfTheirClass) {
  auto& heap = this->heap();
  for (std::size_t size = 0; size <= kSmallMax; size += 97) {
    void* p = heap.Allocate(size);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(heap.source().Contains(p));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
    EXPECT_EQ(heap.UsableSize(p), ClassSize(SizeClassOf(size)));
    std::memset(p, 0x5a, size);
    EXPECT_TRUE(heap.IsLiveBlock(p));
    heap.Deallocate(p);
    EXPECT_FALSE(heap.IsLiveBlock(p));
  }
  ExpectIntact(heap);
}

TYPED_TEST(PerThreadMallocTest, LargerSizesAndAlignmentsGoToTheMediumHeap) {
  auto& heap = this->heap();
  void* big = heap.Allocate(kSmallMax + 1);
  EXPECT_FALSE(heap.source().Contains(big));
  void* aligned_small = heap.Allocate(100, 256);  // A 256-byte class block.
  EXPECT_TRUE(heap.source().Contains(aligned_small));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned_small) % 256, 0u);
  // Spans hold blocks aligned up to a page; above that, the medium heap.
  void* aligned_span = heap.Allocate(100, kPageSize);
  EXPECT_TRUE(heap.source().Contains(aligned_span));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned_span) % kPageSize, 0u);
  void* aligned_big = heap.Allocate(100, 2 * kPageSize);
  EXPECT_FALSE(heap.source().Contains(aligned_big));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned_big) % (2 * kPageSize),
            0u);
  EXPECT_EQ(heap.Allocate(10, 3), nullptr);
  EXPECT_EQ(heap.Allocate(SIZE_MAX), nullptr);
  heap.Deallocate(big);
  heap.Deallocate(aligned_small);
  heap.Deallocate(aligned_span);
  heap.Deallocate(aligned_big);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

TYPED_TEST(PerThreadMallocTest, LargeSizesAreMappingsOfTheirOwn) {
  auto& heap = this->heap();
  LargeHeap& large = heap.medium().large();
  const std::size_t size = DefaultMediumHeap::kLargeMin + LargeHeap::kOsPage;
  auto* p = static_cast<unsigned char*>(heap.Allocate(size));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(large.UsableSize(p), size);
  EXPECT_EQ(heap.UsableSize(p), size);
  EXPECT_TRUE(heap.IsLiveBlock(p));
  FillPattern(p, size, 1);
  // Grown by the kernel, contents kept.
  p = static_cast<unsigned char*>(heap.Reallocate(p, 8 * size));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(large.UsableSize(p), 8 * size);
  EXPECT_EQ(FirstPatternMismatch(p, size, 1), size);
  // Below the threshold it moves to a class.
  p = static_cast<unsigned char*>(heap.Reallocate(p, size / 2));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(large.UsableSize(p), 0u);
  EXPECT_TRUE(heap.source().Contains(p));
  EXPECT_EQ(FirstPatternMismatch(p, size / 2, 1), size / 2);
  p = static_cast<unsigned char*>(heap.Reallocate(p, 100));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(heap.source().Contains(p));
  EXPECT_EQ(FirstPatternMismatch(p, 100, 1), 100u);
  heap.Deallocate(p);
  // Page-aligned contiguous blocks are not taken for mappings.
  void* aligned = heap.Allocate(kSmallMax + 1, 2 * kPageSize);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(large.UsableSize(aligned), 0u);
  EXPECT_TRUE(heap.IsLiveBlock(aligned));
  heap.Deallocate(aligned);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// A loop of large blocks of varying sizes reuses a kept mapping whole, up to
// eight times the request (no tail cut and regrown), and cuts a larger one.
TYPED_TEST(PerThreadMallocTest, LargeBlockLoopsReuseKeptMappingsWhole) {
  auto& heap = this->heap();
  LargeHeap& large = heap.medium().large();
  constexpr std::size_t kBig = std::size_t{24} << 20;
  void* first = heap.Allocate(kBig);
  ASSERT_NE(first, nullptr);
  heap.Deallocate(first);
  void* smaller = heap.Allocate(kBig / 5);
  EXPECT_EQ(smaller, first);
  EXPECT_EQ(large.UsableSize(smaller), kBig);
  heap.Deallocate(smaller);
  void* tiny = heap.Allocate(kBig / 16);
  EXPECT_EQ(tiny, first);
  EXPECT_EQ(large.UsableSize(tiny), kBig / 16);  // The tail went back.
  heap.Deallocate(tiny);
  ExpectIntact(heap);
}

// calloc's path: every kind of block (class, contiguous, mapping, kept
// mapping) comes back zero after a previous block dirtied its memory.
TYPED_TEST(PerThreadMallocTest, AllocateZeroedZeroesReusedMemory) {
  auto& heap = this->heap();
  for (std::size_t size :
       {std::size_t{100}, std::size_t{5000}, std::size_t{40000},
        std::size_t{300000}, std::size_t{4} << 20}) {
    for (int round = 0; round < 2; ++round) {
      auto* dirty = static_cast<unsigned char*>(heap.Allocate(size));
      ASSERT_NE(dirty, nullptr);
      std::memset(dirty, 0xab, size);
      heap.Deallocate(dirty);
      auto* zero = static_cast<unsigned char*>(heap.AllocateZeroed(size));
      ASSERT_NE(zero, nullptr);
      for (std::size_t i = 0; i < size; ++i) {
        ASSERT_EQ(zero[i], 0) << "size " << size << " byte " << i;
      }
      std::memset(zero, 0xcd, size);
      heap.Deallocate(zero);
    }
  }
  ExpectIntact(heap);
}

TYPED_TEST(PerThreadMallocTest, SameThreadFreeIsReusedFirst) {
  auto& heap = this->heap();
  void* a = heap.Allocate(40);
  heap.Deallocate(a);
  EXPECT_EQ(heap.Allocate(48), a);  // Same class, LIFO.
}

TYPED_TEST(PerThreadMallocTest, ReallocKeepsContentsAcrossClassesAndHeaps) {
  auto& heap = this->heap();
  void* p = heap.Reallocate(nullptr, 10);
  FillPattern(p, 10, 1);
  for (std::size_t size : {std::size_t{12}, std::size_t{100}, std::size_t{5000},
                           std::size_t{100000}, std::size_t{64}}) {
    p = heap.Reallocate(p, size);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(FirstPatternMismatch(p, 10, 1), 10u) << size;
  }
  EXPECT_EQ(heap.Reallocate(p, SIZE_MAX), nullptr);
  EXPECT_EQ(FirstPatternMismatch(p, 10, 1), 10u);
  heap.Deallocate(p);
  ExpectIntact(heap);
}

TYPED_TEST(PerThreadMallocTest, MatchesTheModel) {
  HeapModel model(this->heap());
  std::mt19937_64 random(7);
  for (int step = 0; step < 20000; ++step) {
    const unsigned op = random() % 100;
    std::string error;
    const std::size_t size =
        random() % 10 == 0 ? random() % 100000 : random() % 2000;
    const std::size_t align =
        random() % 8 == 0 ? std::size_t{1} << (random() % 14) : 16;
    if (op < 45) {
      error = model.Allocate(size, align);
    } else if (op < 80) {
      error = model.Free(random());
    } else if (op < 95) {
      error = model.Reallocate(random(), size, align);
    } else {
      error = model.CheckUsableSize(random());
    }
    if (error.empty() && step % 50 == 0) error = model.Check();
    ASSERT_EQ(error, "") << "at step " << step;
  }
  EXPECT_EQ(model.FreeAll(), "");
}

TYPED_TEST(PerThreadMallocTest, SixteenThreadsKeepTheirContents) {
  ::rusty_malloc::testing::RunVectorStress(this->heap());
}

TYPED_TEST(PerThreadMallocTest, VerifyNamesABrokenFreeList) {
  if (kAsanPoisoning) GTEST_SKIP() << "writes into a free block on purpose";
  auto& heap = this->heap();
  void* a = heap.Allocate(32);
  void* b = heap.Allocate(32);
  heap.Deallocate(a);
  heap.Deallocate(b);                  // b -> a
  per_thread_internal::SetNext(b, b);  // b -> b: a cycle.
  const HeapReport report = heap.Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.ToString().find("twice"), std::string::npos)
      << report.ToString();
  per_thread_internal::SetNext(b, nullptr);  // Repair, for the destructor.
}

void* RefuseToMap(std::size_t) { return nullptr; }

TYPED_TEST(PerThreadMallocTest, NoMemoryForAThreadHeapFailsTheAllocation) {
  auto& heap = this->heap();
  heap.set_heap_mapper_for_testing(&RefuseToMap);
  EXPECT_EQ(heap.Allocate(64), nullptr);
  EXPECT_EQ(heap.Allocate(64, 256), nullptr);  // A small class, aligned.
  EXPECT_EQ(heap.Reallocate(nullptr, 64), nullptr);
  // What the drop-in's malloc makes of it.
  errno = 0;
  EXPECT_EQ(c_api::Malloc(heap, 64), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  // The medium heap needs no thread heap.
  void* big = heap.Allocate(kSmallMax + 1);
  EXPECT_NE(big, nullptr);
  heap.Deallocate(big);
  EXPECT_EQ(heap.HeapCount(), 0u);
  ExpectIntact(heap);

  heap.set_heap_mapper_for_testing(&MapHeapMemory);
  void* p = heap.Allocate(64);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(heap.source().Contains(p));
  EXPECT_EQ(heap.HeapCount(), 1u);
  heap.Deallocate(p);
  ExpectIntact(heap);
}

template <typename T>
class PerThreadMallocDeathTest : public PerThreadHeapTest<T> {};
TYPED_TEST_SUITE(PerThreadMallocDeathTest, ChunkSources, ChunkSourceNames);

TYPED_TEST(PerThreadMallocDeathTest, DoubleFreeAborts) {
  auto& heap = this->heap();
  void* p = heap.Allocate(64);
  void* neighbour = heap.Allocate(64);
  heap.Deallocate(p);
  EXPECT_DEATH(heap.Deallocate(p), "double free");
  void* big = heap.Allocate(100000);
  heap.Deallocate(big);
  EXPECT_DEATH(heap.Deallocate(big), "double free");
  heap.Deallocate(neighbour);
}

TYPED_TEST(PerThreadMallocDeathTest, RemoteDoubleFreeAborts) {
  auto& heap = this->heap();
  void* p = heap.Allocate(64);
  std::thread([&heap, p] { heap.Deallocate(p); }).join();
  EXPECT_DEATH(heap.Deallocate(p), "double free");
}

// A block freed twice while it waits in the freeing thread's batch.
TYPED_TEST(PerThreadMallocDeathTest, DoubleFreeOfABatchedBlockAborts) {
  auto& heap = this->heap();
  void* p = heap.Allocate(64);
  void* q = heap.Allocate(64);
  EXPECT_DEATH(std::thread([&heap, p, q] {
                 heap.Deallocate(heap.Allocate(16));
                 heap.Deallocate(p);
                 heap.Deallocate(q);
                 heap.Deallocate(p);
               }).join(),
               "double free");
}

TYPED_TEST(PerThreadMallocDeathTest, ForeignAndInteriorPointersAbort) {
  auto& heap = this->heap();
  auto* p = static_cast<char*>(heap.Allocate(64));
  alignas(16) static char outside[64];
  EXPECT_DEATH(heap.Deallocate(outside), "not allocated by this heap");
  EXPECT_DEATH(heap.Deallocate(p + 16), "not a block of this heap");
  EXPECT_DEATH(heap.Deallocate(p + kPageSize * 3), "not a block of this heap");
}

// The source reserves regions ahead of use, PROT_NONE: a pointer into a
// chunk not handed out yet is not ours, and asking about it must not read
// the chunk (it used to fault).
TEST(PerThreadMallocRegionTest, ReservedChunksAreNotOurs) {
  PerThreadMalloc<MmapChunkSource> heap;
  std::vector<void*> blocks;
  const ChunkHeader* first = ChunkOf(heap.Allocate(1024));
  // The first region is one chunk; the second (two chunks) comes when the
  // first chunk is full.
  const ChunkHeader* second = first;
  while (second == first) {
    blocks.push_back(heap.Allocate(1024));
    ASSERT_NE(blocks.back(), nullptr);
    second = ChunkOf(blocks.back());
  }
  const char* reserved = reinterpret_cast<const char*>(second) + kChunkSize;
  EXPECT_FALSE(heap.source().Contains(reserved + 4112));
  EXPECT_FALSE(heap.IsLiveBlock(reserved + 4112));
  EXPECT_DEATH(heap.Deallocate(const_cast<char*>(reserved) + 4112),
               "rusty_malloc");
  for (void* p : blocks) heap.Deallocate(p);
}

// A calloc of 1 GiB writes nothing: its mapping is known to be zero.
TEST(PerThreadMallocLargeTest, AHugeZeroedBlockTouchesNoPages) {
  PerThreadMalloc<MmapChunkSource> heap;
  const std::size_t before = ProcessResidentBytes();
  auto* p =
      static_cast<unsigned char*>(heap.AllocateZeroed(std::size_t{1} << 30));
  ASSERT_NE(p, nullptr);
  EXPECT_LT(ProcessResidentBytes(), before + (std::size_t{64} << 20));
  EXPECT_EQ(p[0] | p[(std::size_t{1} << 30) - 1], 0);
  heap.Deallocate(p);
}

// A freed 1 GiB block goes back to the OS even with a block above it.
TEST(PerThreadMallocLargeTest, AFreedHugeBlockLeavesNothingResident) {
  PerThreadMalloc<MmapChunkSource> heap;
  const std::size_t before = ProcessResidentBytes();
  auto* huge = static_cast<unsigned char*>(heap.Allocate(std::size_t{1} << 30));
  ASSERT_NE(huge, nullptr);
  std::memset(huge, 1, std::size_t{1} << 30);
  void* above = heap.Allocate(40 << 10);
  ASSERT_NE(above, nullptr);
  heap.Deallocate(huge);
  EXPECT_LT(ProcessResidentBytes(), before + (std::size_t{64} << 20));
  heap.Deallocate(above);
}

// A medium heap other than the default: the locked allocator on a caller's
// buffer.
class BufferMediumHeap : public RustyMalloc<TestGrower> {
 public:
  BufferMediumHeap() : RustyMalloc(TestGrower(std::size_t{64} << 20)) {}
};

static_assert(std::is_same_v<PerThreadMalloc<MmapChunkSource>::Medium,
                             DefaultMediumHeap>);

TEST(PerThreadMallocMediumTest, TheMediumHeapIsAParameter) {
  PerThreadMalloc<GrowerChunkSource<TestGrower>, BufferMediumHeap> heap(
      TestGrower(std::size_t{64} << 20));
  void* small = heap.Allocate(100);
  void* big = heap.Allocate(kSmallMax + 100000);
  ASSERT_NE(small, nullptr);
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(heap.source().Contains(small));
  EXPECT_FALSE(heap.source().Contains(big));
  EXPECT_TRUE(heap.medium().IsLiveBlock(big));
  const std::size_t medium_bytes = heap.medium().Stats().heap_bytes;
  EXPECT_GE(medium_bytes, kSmallMax + 100000);
  EXPECT_LE(medium_bytes, std::size_t{64} << 20);  // The buffer's size.
  heap.Deallocate(small);
  heap.Deallocate(big);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

}  // namespace
}  // namespace rusty_malloc::testing

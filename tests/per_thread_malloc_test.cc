#include "allocator/per_thread/per_thread_malloc.h"

#include <atomic>
#include <cerrno>
#include <chrono>
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

template <typename T>
class PerThreadMallocTest : public PerThreadHeapTest<T> {};
TYPED_TEST_SUITE(PerThreadMallocTest, ChunkSources, ChunkSourceNames);

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

TYPED_TEST(PerThreadMallocTest, RemoteFreesReturnToTheOwner) {
  auto& heap = this->heap();
  std::vector<void*> blocks;
  for (int i = 0; i < 5000; ++i) blocks.push_back(heap.Allocate(64));
  std::thread other([&heap, &blocks] {
    for (void* p : blocks) heap.Deallocate(p);  // Not the owner.
  });
  other.join();
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
  // The owner takes the remote frees over instead of growing.
  const std::size_t heap_bytes = heap.Stats().heap_bytes;
  for (void*& p : blocks) p = heap.Allocate(64);
  EXPECT_EQ(heap.Stats().heap_bytes, heap_bytes);
  for (void* p : blocks) heap.Deallocate(p);
  ExpectIntact(heap);
}

// A thread with a heap of its own frees another heap's blocks in batches:
// 63 frees into one page wait with the freeing thread, the 64th sends them
// all in one push; what waits when the thread exits goes over then.
TYPED_TEST(PerThreadMallocTest, RemoteFreesGoOverInBatchesPerPage) {
  auto& heap = this->heap();
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(heap.Allocate(64));
  const PageInfo* page = PageOf(blocks.front());
  ASSERT_EQ(PageOf(blocks.back()), page);
  std::atomic<int> step{0};
  std::thread other([&] {
    heap.Deallocate(heap.Allocate(16));  // A heap of its own.
    for (int i = 0; i < 63; ++i) heap.Deallocate(blocks[i]);
    step = 1;
    while (step != 2) std::this_thread::yield();
    heap.Deallocate(blocks[63]);
    for (int i = 64; i < 100; ++i) heap.Deallocate(blocks[i]);
    step = 3;
    while (step != 4) std::this_thread::yield();
  });
  while (step != 1) std::this_thread::yield();
  EXPECT_EQ(page->remote_count.load(), 0u);
  step = 2;
  while (step != 3) std::this_thread::yield();
  EXPECT_EQ(page->remote_count.load(), 64u);
  step = 4;
  other.join();
  EXPECT_EQ(page->remote_count.load(), 100u);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// A thread that only frees, with no heap of its own, sends each block over
// at once; one that allocates again hands its batches over first.
TYPED_TEST(PerThreadMallocTest, RemoteBatchesGoOverBeforeASlowPath) {
  auto& heap = this->heap();
  void* mine = heap.Allocate(64);
  std::thread([&] {
    heap.Deallocate(mine);  // No heap yet: at once.
    EXPECT_EQ(PageOf(mine)->remote_count.load(), 1u);
  }).join();
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(heap.Allocate(64));
  // The first block's page, with `mine` on its remote list still.
  const std::uint32_t before = PageOf(blocks[0])->remote_count.load();
  std::thread([&] {
    void* own = heap.Allocate(1000);
    for (void* p : blocks) heap.Deallocate(p);
    EXPECT_EQ(PageOf(blocks[0])->remote_count.load(), before);
    // A class it has no page of yet: the slow path.
    void* other = heap.Allocate(5000);
    EXPECT_EQ(PageOf(blocks[0])->remote_count.load(), before + 10);
    heap.Deallocate(other);
    heap.Deallocate(own);
  }).join();
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// Pages another thread emptied, of a class the owner no longer asks for,
// are taken back before the owner takes new chunks: 16 MiB of 64-byte blocks
// freed remotely, then 16 MiB of 128-byte blocks, fit in about the chunks
// the first phase needed, not twice as many.
TYPED_TEST(PerThreadMallocTest, PagesEmptiedRemotelyAreReusedForOtherClasses) {
  auto& heap = this->heap();
  std::vector<void*> small;
  for (int i = 0; i < (16 << 20) / 64; ++i) {
    small.push_back(heap.Allocate(64));
    ASSERT_NE(small.back(), nullptr);
  }
  const std::size_t first_phase = heap.Stats().heap_bytes;
  std::thread other([&heap, &small] {
    for (void* p : small) heap.Deallocate(p);  // Not the owner.
  });
  other.join();
  std::vector<void*> larger;
  for (int i = 0; i < (16 << 20) / 128; ++i) {
    larger.push_back(heap.Allocate(128));
    ASSERT_NE(larger.back(), nullptr);
  }
  EXPECT_LE(heap.Stats().heap_bytes, first_phase + 2 * kChunkSize);
  for (void* p : larger) heap.Deallocate(p);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

TYPED_TEST(PerThreadMallocTest, HeapsOfExitedThreadsAreAdoptedNotLeaked) {
  auto& heap = this->heap();
  std::vector<void*> survivors;
  for (int round = 0; round < 50; ++round) {
    std::thread t([&heap, &survivors] {
      for (int i = 0; i < 100; ++i) heap.Deallocate(heap.Allocate(200));
      survivors.push_back(heap.Allocate(300));  // Outlives its thread.
    });
    t.join();
  }
  // One thread at a time: each new one adopted the last one's heap.
  EXPECT_LE(heap.HeapCount(), 2u);
  for (void* p : survivors) heap.Deallocate(p);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// A thread allocates 16 MiB and exits; another frees it all into the
// abandoned heap. No thread adopts it, yet its chunks go back: at once on
// ReleaseFreeMemory (malloc_trim), or after the purge delay, from any live
// heap's next new page.
TYPED_TEST(PerThreadMallocTest, AbandonedHeapsGiveMemoryBackUnadopted) {
  auto& heap = this->heap();
  void* mine = heap.Allocate(100);  // This thread's heap exists first.
  for (const bool trim : {true, false}) {
    const std::size_t before = heap.Stats().heap_bytes;
    std::vector<void*> blocks;
    std::thread owner([&heap, &blocks] {
      for (int i = 0; i < (16 << 20) / 1024; ++i) {
        blocks.push_back(heap.Allocate(1000));
      }
    });
    owner.join();
    ASSERT_GE(heap.Stats().heap_bytes, before + (16 << 20));
    for (void* p : blocks) heap.Deallocate(p);  // Remote frees, all of them.
    if (trim) {
      heap.ReleaseFreeMemory();
    } else {
      std::this_thread::sleep_for(
          std::chrono::nanoseconds(2 * kDefaultPurgeDelayNs) +
          std::chrono::milliseconds(50));
      // Each call into a live heap's slow path lets abandoned heaps purge
      // at most once per delay: the first collects, the second purges.
      for (int i = 0; i < 2; ++i) {
        void* p = heap.Allocate(ClassSize(kSizeClasses - 1 - i));
        heap.Deallocate(p);
        std::this_thread::sleep_for(
            std::chrono::nanoseconds(kDefaultPurgeDelayNs) +
            std::chrono::milliseconds(50));
      }
      heap.Deallocate(heap.Allocate(ClassSize(kSizeClasses - 3)));
    }
    EXPECT_LE(heap.Stats().heap_bytes, before + kChunkSize) << trim;
    ExpectIntact(heap);
  }
  heap.Deallocate(mine);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// Stats() splits the memory behind the heaps as the OS sees it: reserved
// holds committed holds resident, and resident follows what is touched and
// what malloc_trim gives back.
TYPED_TEST(PerThreadMallocTest, StatsSplitReservedCommittedAndResident) {
  auto& heap = this->heap();
  constexpr std::size_t kTouched = std::size_t{8} << 20;
  const HeapStats before = heap.Stats();
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < kTouched / 1024; ++i) {
    blocks.push_back(heap.Allocate(1024));
    std::memset(blocks.back(), 1, 1024);
  }
  void* large = heap.Allocate(kTouched);
  ASSERT_NE(large, nullptr);
  std::memset(large, 1, kTouched);
  const HeapStats used = heap.Stats();
  EXPECT_GE(used.reserved_bytes, used.committed_bytes);
  EXPECT_GE(used.committed_bytes, used.resident_bytes);
  EXPECT_GE(used.committed_bytes, used.heap_bytes);
  EXPECT_GE(used.resident_bytes, before.resident_bytes + 2 * kTouched);
  for (void* p : blocks) heap.Deallocate(p);
  heap.Deallocate(large);
  heap.ReleaseFreeMemory();
  const HeapStats after = heap.Stats();
  EXPECT_LE(after.resident_bytes, before.resident_bytes + kChunkSize);
  EXPECT_GE(after.reserved_bytes, after.committed_bytes);
  ExpectIntact(heap);
}

// Blocks freed into the contiguous heap (its trim threshold and top pad keep
// up to 40 MiB) go back to the OS a purge delay later, on the next call into
// the medium or large paths.
TYPED_TEST(PerThreadMallocTest, MediumMemoryGoesBackAfterThePurgeDelay) {
  auto& heap = this->heap();
  constexpr std::size_t kBlock = std::size_t{2} << 20;
  // Aligned beyond what classes and mappings give: the contiguous heap.
  constexpr std::size_t kAlign = 2 * kPageSize;
  std::vector<void*> blocks;
  for (int i = 0; i < 12; ++i) {
    blocks.push_back(heap.Allocate(kBlock, kAlign));
    ASSERT_NE(blocks.back(), nullptr);
    ASSERT_EQ(heap.medium().large().UsableSize(blocks.back()), 0u);
    std::memset(blocks.back(), 1, kBlock);
  }
  const std::size_t used = heap.medium().Stats().resident_bytes;
  ASSERT_GE(used, 12 * kBlock);
  for (void* p : blocks) heap.Deallocate(p);
  // Large free blocks go back at once; the top pad stays for reuse.
  const std::size_t kept = heap.medium().Stats().resident_bytes;
  EXPECT_GE(kept, 2 * kBlock);
  std::this_thread::sleep_for(std::chrono::nanoseconds(kDefaultPurgeDelayNs) +
                              std::chrono::milliseconds(50));
  heap.Deallocate(heap.Allocate(kSmallMax + 1));
  EXPECT_LE(heap.medium().Stats().resident_bytes, kBlock / 4) << kept;
  ExpectIntact(heap);
}

TYPED_TEST(PerThreadMallocTest, EmptyChunksGoBackToTheSource) {
  auto& heap = this->heap();
  std::vector<void*> blocks;
  for (int i = 0; i < 200000; ++i) blocks.push_back(heap.Allocate(100));
  const std::size_t full = heap.Stats().heap_bytes;
  EXPECT_GT(full, 4 * kChunkSize);
  for (void* p : blocks) heap.Deallocate(p);
  // Empty pages stay for reuse: allocating as much again takes no chunk.
  EXPECT_EQ(heap.Stats().heap_bytes, full);
  for (void*& p : blocks) p = heap.Allocate(100);
  EXPECT_EQ(heap.Stats().heap_bytes, full);
  for (void* p : blocks) heap.Deallocate(p);
  // Once the purge delay has passed, the next slow path (here a new page
  // for another class) retires them, and their chunks go back.
  std::this_thread::sleep_for(std::chrono::nanoseconds(kDefaultPurgeDelayNs) +
                              std::chrono::milliseconds(50));
  heap.Deallocate(heap.Allocate(20000));
  EXPECT_LE(heap.Stats().heap_bytes, kChunkSize);
  ExpectIntact(heap);
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

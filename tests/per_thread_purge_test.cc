// Memory the per-thread allocator gives back: empty chunks and the medium
// heap's free memory a purge delay later, an abandoned heap's chunks without
// an adopter, and Stats()' split of reserved, committed and resident bytes.

#include <chrono>
#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/per_thread_sources.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

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

}  // namespace
}  // namespace rusty_malloc::testing

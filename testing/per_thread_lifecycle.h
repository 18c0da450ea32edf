#ifndef RUSTY_MALLOC_TESTING_PER_THREAD_LIFECYCLE_H_
#define RUSTY_MALLOC_TESTING_PER_THREAD_LIFECYCLE_H_

// What the per-thread allocator's lifecycle tests share: blocks of known
// contents handed between threads, whole chunks filled with one size class,
// and the PerThreadLifecycleTest suite over both chunk sources.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/patterns.h"
#include "testing/per_thread_sources.h"

#if defined(__SANITIZE_THREAD__)
#define RUSTY_MALLOC_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RUSTY_MALLOC_TEST_TSAN 1
#endif
#endif

namespace rusty_malloc::testing {

// TSan runs these several times slower; fewer rounds keep each test within
// seconds there while still crossing every path.
inline constexpr bool kTsan =
#ifdef RUSTY_MALLOC_TEST_TSAN
    true;
#else
    false;
#endif

// The scenarios fill whole chunks with one size class, so that which chunk
// empties, and when it goes back to the source, is known exactly.
inline constexpr std::size_t kRequest = 1000;
inline constexpr std::size_t kBlock = ClassSize(SizeClassOf(kRequest));
inline constexpr std::size_t kBlocksPerChunk =
    (kPagesPerChunk - 1) * (kPageSize / kBlock);
// Two full chunks and half of a third. The front page of the class queue is
// in the third chunk, so emptying the second leaves nothing in it in use.
inline constexpr std::size_t kOwnerBlocks =
    2 * kBlocksPerChunk + kBlocksPerChunk / 2;
// The owner itself empties the second chunk's top pages; other threads free
// the rest of it.
inline constexpr int kTopPages = 2;
inline constexpr std::size_t kSecondChunkBlocks =
    kBlocksPerChunk - kTopPages * (kPageSize / kBlock);

// A block the test knows the contents of.
struct Letter {
  void* block;
  std::size_t size;
  std::uint64_t id;
};

// Blocks handed from thread to thread, oldest first. A pthread mutex: TSan
// models it natively, while absl::Mutex's waiter handoff reads to TSan as a
// race.
class LetterQueue {
 public:
  void Post(const Letter& letter) {
    std::lock_guard<std::mutex> lock(mu_);
    letters_.push_back(letter);
  }
  bool Take(Letter* letter) {
    std::lock_guard<std::mutex> lock(mu_);
    if (letters_.empty()) return false;
    *letter = letters_.front();
    letters_.pop_front();
    return true;
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return letters_.size();
  }

 private:
  std::mutex mu_;
  std::deque<Letter> letters_;
};

// A one-shot signal between threads.
class Gate {
 public:
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

inline bool Intact(const Letter& l) {
  return FirstPatternMismatch(l.block, l.size, l.id) == l.size;
}

// The contents are checked first: a free writes links into the block.
template <typename Heap>
bool CheckAndFree(Heap& heap, const Letter& l) {
  const bool intact = Intact(l);
  heap.Deallocate(l.block);
  return intact;
}

// Frees every letter; returns how many were damaged.
template <typename Heap>
int CheckAndFreeAll(Heap& heap, const std::vector<Letter>& letters) {
  int damaged = 0;
  for (const Letter& l : letters) damaged += CheckAndFree(heap, l) ? 0 : 1;
  return damaged;
}

template <typename Heap>
std::vector<Letter> AllocateBlocks(Heap& heap, std::size_t count,
                                   std::uint64_t first_id) {
  std::vector<Letter> blocks;
  blocks.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    void* p = heap.Allocate(kRequest);
    if (p == nullptr) {
      ADD_FAILURE() << "allocation " << i << " failed";
      break;
    }
    FillPattern(p, kRequest, first_id + i);
    blocks.push_back({p, kRequest, first_id + i});
  }
  return blocks;
}

inline int PageIndex(const void* p) {
  return static_cast<int>(PageOf(p) - ChunkOf(p)->pages);
}

// The owner's blocks: kOwnerBlocks, less those of the second chunk's top
// kTopPages pages, which it frees itself and so retires at once. Then the
// last page in use in that chunk is not its last page: a CollectAll that
// released the chunk and walked on would read page entries past it, in
// memory the source has taken back (and MmapChunkSource has zeroed).
template <typename Heap>
std::vector<Letter> AllocateAsOwner(Heap& heap) {
  std::vector<Letter> blocks = AllocateBlocks(heap, kOwnerBlocks, 0);
  if (blocks.size() <= kBlocksPerChunk) return blocks;
  const ChunkHeader* second = ChunkOf(blocks[kBlocksPerChunk].block);
  std::vector<Letter> kept;
  for (const Letter& l : blocks) {
    if (ChunkOf(l.block) == second &&
        PageIndex(l.block) >= kPagesPerChunk - kTopPages) {
      EXPECT_TRUE(CheckAndFree(heap, l)) << l.id;
    } else {
      kept.push_back(l);
    }
  }
  return kept;
}

// The blocks of each chunk, chunks in the order the blocks first used them.
inline std::vector<std::vector<Letter>> GroupByChunk(
    const std::vector<Letter>& blocks) {
  std::vector<ChunkHeader*> chunks;
  std::vector<std::vector<Letter>> groups;
  for (const Letter& l : blocks) {
    std::size_t i = 0;
    while (i < chunks.size() && chunks[i] != ChunkOf(l.block)) ++i;
    if (i == chunks.size()) {
      chunks.push_back(ChunkOf(l.block));
      groups.emplace_back();
    }
    groups[i].push_back(l);
  }
  return groups;
}

// Walks the heap and checks that the counts add up, with `live` blocks of
// kBlock still allocated and the medium heap unused.
template <typename Heap>
void ExpectConsistent(Heap& heap, std::size_t live) {
  ExpectIntact(heap);
  const HeapStats stats = heap.Stats();
  EXPECT_EQ(stats.allocated_blocks, live);
  EXPECT_EQ(stats.allocated_bytes, live * kBlock);
  EXPECT_EQ(stats.heap_bytes % kChunkSize, 0u);
  EXPECT_EQ(stats.allocated_bytes + stats.free_bytes + stats.overhead_bytes,
            stats.heap_bytes);
}

// The lifecycle tests' suite, over both chunk sources, whose tests several
// files share.
template <typename T>
class PerThreadLifecycleTest : public PerThreadHeapTest<T> {};
TYPED_TEST_SUITE(PerThreadLifecycleTest, ChunkSources, ChunkSourceNames);

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_PER_THREAD_LIFECYCLE_H_

// Thread lifecycles of the per-thread allocator that the random stress tests
// reach only by luck: a heap abandoned while remote frees empty one of its
// chunks, adoption of a heap with such frees pending, thousands of threads
// taking over each other's heaps, fork() while threads allocate. Plus the
// interior-pointer checks of every allocator's free().

#include <pthread.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "allocator/common/sanitizer.h"
#include "allocator/common/tunables.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/thread_binding.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/patterns.h"
#include "testing/per_thread_sources.h"
#include "testing/resident.h"
#include "testing/test_growers.h"

#if defined(__SANITIZE_THREAD__)
#define RUSTY_MALLOC_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RUSTY_MALLOC_TEST_TSAN 1
#endif
#endif

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

// TSan runs these several times slower; fewer rounds keep each test within
// seconds there while still crossing every path.
constexpr bool kTsan =
#ifdef RUSTY_MALLOC_TEST_TSAN
    true;
#else
    false;
#endif

// The scenarios fill whole chunks with one size class, so that which chunk
// empties, and when it goes back to the source, is known exactly.
constexpr std::size_t kRequest = 1000;
constexpr std::size_t kBlock = ClassSize(SizeClassOf(kRequest));
constexpr std::size_t kBlocksPerChunk =
    (kPagesPerChunk - 1) * (kPageSize / kBlock);
// Two full chunks and half of a third. The front page of the class queue is
// in the third chunk, so emptying the second leaves nothing in it in use.
constexpr std::size_t kOwnerBlocks = 2 * kBlocksPerChunk + kBlocksPerChunk / 2;
// The owner itself empties the second chunk's top pages; other threads free
// the rest of it.
constexpr int kTopPages = 2;
constexpr std::size_t kSecondChunkBlocks =
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

bool Intact(const Letter& l) {
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

int PageIndex(const void* p) {
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
std::vector<std::vector<Letter>> GroupByChunk(
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

template <typename T>
class PerThreadLifecycleTest : public PerThreadHeapTest<T> {};
TYPED_TEST_SUITE(PerThreadLifecycleTest, ChunkSources, ChunkSourceNames);

// When the other thread's frees that empty the owner's second chunk happen,
// relative to the owner's exit (which collects remote frees and retires the
// pages they emptied, see ThreadHeap::CollectAll).
enum class RemoteFrees {
  kBeforeExit,
  kAfterExit,  // Into the abandoned heap.
  kHalfBeforeHalfAfter,
  kDuringExit,  // Racing the exiting thread's CollectAll.
};

template <typename Heap>
void EmptyAChunkAroundOwnerExit(Heap& heap, RemoteFrees when) {
  std::vector<Letter> blocks;
  Gate allocated;
  Gate may_exit;
  std::thread owner([&] {
    blocks = AllocateAsOwner(heap);
    allocated.Open();
    if (when != RemoteFrees::kAfterExit) may_exit.Wait();
  });
  allocated.Wait();
  const std::vector<std::vector<Letter>> chunks = GroupByChunk(blocks);
  if (chunks.size() != 3 || chunks[1].size() != kSecondChunkBlocks) {
    may_exit.Open();
    owner.join();
    FAIL() << "expected two full chunks and part of a third, got "
           << chunks.size() << " chunks";
  }
  const std::vector<Letter>& victim = chunks[1];
  std::atomic<int> damaged{0};
  auto free_range = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      if (!CheckAndFree(heap, victim[i])) ++damaged;
    }
  };
  if (when == RemoteFrees::kDuringExit) {
    std::thread freer([&] {
      may_exit.Open();
      free_range(0, victim.size());
    });
    owner.join();
    freer.join();
  } else {
    const std::size_t before = when == RemoteFrees::kBeforeExit ? victim.size()
                               : when == RemoteFrees::kHalfBeforeHalfAfter
                                   ? victim.size() / 2
                                   : 0;
    std::thread([&] { free_range(0, before); }).join();
    may_exit.Open();
    owner.join();
    std::thread([&] { free_range(before, victim.size()); }).join();
  }
  EXPECT_EQ(damaged.load(), 0);
  // The freeing threads never allocated: they took no heap of their own.
  EXPECT_EQ(heap.HeapCount(), 1u);
  ExpectConsistent(heap, blocks.size() - victim.size());
  for (const std::size_t c : {0, 2}) {
    for (const Letter& l : chunks[c]) ASSERT_TRUE(Intact(l)) << l.id;
  }

  std::vector<Letter> more;
  std::thread adopter([&] {
    void* probe = heap.Allocate(kRequest);
    ASSERT_NE(probe, nullptr);
    EXPECT_EQ(heap.HeapCount(), 1u) << "the heap was not adopted";
    heap.Deallocate(probe);
    more = AllocateBlocks(heap, kBlocksPerChunk, 1 << 20);
    // The rest of the third chunk, then, before growing, every remote free
    // collected and the emptied chunk back at the source, and taken again:
    // three chunks, not four.
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);
  });
  adopter.join();
  ExpectConsistent(heap, blocks.size() - victim.size() + more.size());

  damaged += CheckAndFreeAll(heap, chunks[0]) +
             CheckAndFreeAll(heap, chunks[2]) + CheckAndFreeAll(heap, more);
  EXPECT_EQ(damaged.load(), 0);
  ExpectConsistent(heap, 0);
  // The next adopter's malloc_trim collects those frees too and gives every
  // chunk back.
  std::thread([&heap] {
    heap.Deallocate(heap.Allocate(kRequest));
    heap.ReleaseFreeMemory();
    EXPECT_EQ(heap.Stats().heap_bytes, 0u);
  }).join();
  EXPECT_EQ(heap.HeapCount(), 1u);
  ExpectConsistent(heap, 0);
}

TYPED_TEST(PerThreadLifecycleTest, OwnerExitsAfterRemoteFreesEmptiedAChunk) {
  auto& heap = this->heap();
  EmptyAChunkAroundOwnerExit(heap, RemoteFrees::kBeforeExit);
}

TYPED_TEST(PerThreadLifecycleTest, RemoteFreesEmptyAChunkOfAnAbandonedHeap) {
  auto& heap = this->heap();
  EmptyAChunkAroundOwnerExit(heap, RemoteFrees::kAfterExit);
}

TYPED_TEST(PerThreadLifecycleTest, ChunkEmptiesHalfBeforeAndHalfAfterExit) {
  auto& heap = this->heap();
  EmptyAChunkAroundOwnerExit(heap, RemoteFrees::kHalfBeforeHalfAfter);
}

TYPED_TEST(PerThreadLifecycleTest, RemoteFreesRaceTheOwnersExit) {
  // Each round a different interleaving, on a fresh allocator.
  const int rounds = kTsan ? 6 : 20;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(round);
    auto heap = TypeParam::Make();
    EmptyAChunkAroundOwnerExit(*heap, RemoteFrees::kDuringExit);
    if (::testing::Test::HasFailure()) return;
  }
}

TYPED_TEST(PerThreadLifecycleTest, AnAdoptedHeapCollectsFreesBeforeGrowing) {
  auto& heap = this->heap();
  std::vector<Letter> blocks;
  std::thread([&] { blocks = AllocateAsOwner(heap); }).join();
  ASSERT_EQ(heap.HeapCount(), 1u);
  const std::vector<std::vector<Letter>> chunks = GroupByChunk(blocks);
  ASSERT_EQ(chunks.size(), 3u);
  ASSERT_EQ(chunks[1].size(), kSecondChunkBlocks);

  // Remote frees into the abandoned heap stay pending: nobody collects them.
  std::atomic<int> damaged{0};
  std::thread([&] { damaged += CheckAndFreeAll(heap, chunks[1]); }).join();
  ExpectConsistent(heap, blocks.size() - kSecondChunkBlocks);
  EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);

  // Adoption itself walks nothing: thread churn stays cheap.
  std::vector<Letter> more;
  std::thread([&] {
    void* p = heap.Allocate(kRequest);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(heap.HeapCount(), 1u) << "the heap was not adopted";
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);
    heap.Deallocate(p);
    // Growing past the third chunk collects first: the emptied chunk goes
    // back to the source and is taken again, so three chunks, not four.
    more = AllocateBlocks(heap, kBlocksPerChunk, 1 << 20);
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize)
        << "the adopter grew before collecting the emptied chunk";
    ExpectIntact(heap);
  }).join();
  EXPECT_EQ(heap.HeapCount(), 1u);
  ExpectConsistent(heap, blocks.size() - kSecondChunkBlocks + more.size());

  damaged += CheckAndFreeAll(heap, chunks[0]) +
             CheckAndFreeAll(heap, chunks[2]) + CheckAndFreeAll(heap, more);
  EXPECT_EQ(damaged.load(), 0);
  ExpectConsistent(heap, 0);
}

TYPED_TEST(PerThreadLifecycleTest, TheHeapAbandonedFirstIsAdoptedFirst) {
  auto& heap = this->heap();
  // Two threads with heaps of their own at once; the first exits first.
  void* older = nullptr;
  void* newer = nullptr;
  std::latch both_have_heaps(2);
  std::latch older_gone(1);
  std::thread first([&] {
    older = heap.Allocate(kRequest);
    both_have_heaps.arrive_and_wait();
  });
  std::thread second([&] {
    newer = heap.Allocate(kRequest);
    both_have_heaps.arrive_and_wait();
    older_gone.wait();
  });
  first.join();
  older_gone.count_down();
  second.join();
  ASSERT_EQ(heap.HeapCount(), 2u);
  ASSERT_NE(ChunkOf(older), ChunkOf(newer));

  // Its blocks have had the longest to be freed: a successor that starts
  // before its predecessor exits must not take the newest heap, full of
  // blocks still in use, while emptied ones wait.
  for (void* expected : {older, newer}) {
    std::thread([&] {
      void* p = heap.Allocate(kRequest);
      EXPECT_EQ(ChunkOf(p), ChunkOf(expected)) << "adopted out of order";
      heap.Deallocate(p);
    }).join();
  }
  EXPECT_EQ(heap.HeapCount(), 2u);
  heap.Deallocate(older);
  heap.Deallocate(newer);
  ExpectConsistent(heap, 0);
}

// Pages of the owner's blocks that other threads freed while the owner
// waits: every page but its queue's front goes out of use once the owner
// has been idle between two reclaims, and comes back when it allocates.
TYPED_TEST(PerThreadLifecycleTest, AnIdleThreadsFreedPagesAreReclaimed) {
  auto& heap = this->heap();
  constexpr std::size_t kPerPage = kPageSize / kBlock;
  constexpr std::size_t kPages = 5;
  std::vector<Letter> blocks;
  Gate allocated, reclaimed_twice;
  std::thread owner([&] {
    blocks = AllocateBlocks(heap, kPages * kPerPage, 0);
    allocated.Open();
    // Idle until the main thread has reclaimed twice.
    reclaimed_twice.Wait();
    std::vector<Letter> again = AllocateBlocks(heap, kPages * kPerPage, 1000);
    EXPECT_EQ(CheckAndFreeAll(heap, again), 0);
  });
  allocated.Wait();
  ASSERT_EQ(blocks.size(), kPages * kPerPage);
  std::vector<std::byte*> pages;
  for (std::size_t i = 0; i < blocks.size(); i += kPerPage) {
    pages.push_back(PageOf(blocks[i].block)->start);
  }
  PageInfo* const front = PageOf(blocks.back().block);
  std::thread([&] {
    EXPECT_EQ(CheckAndFreeAll(heap, blocks), 0);
    heap.FlushRemoteFrees();
  }).join();

  heap.ReclaimIdleHeaps();  // Notes where the owner's slow paths stand.
  const std::size_t reclaimed = heap.ReclaimIdleHeaps();
  EXPECT_GE(reclaimed, (kPages - 1) * kPageSize);
  for (std::byte* start : pages) {
    if (PageOf(start) == front) {
      EXPECT_EQ(PageOf(start)->size_class, SizeClassOf(kRequest))
          << "the page serving the owner's fast path was taken";
      continue;
    }
    EXPECT_EQ(PageOf(start)->size_class, kPageUnused);
    if constexpr (std::is_same_v<TypeParam, MmapSourced>) {
      EXPECT_EQ(ResidentPages(start, kPageSize), 0u);
    }
  }
  ExpectConsistent(heap, 0);
  reclaimed_twice.Open();
  owner.join();
  ExpectConsistent(heap, 0);
}

// A page with a block its owner still holds, or with a block still on its
// way to the remote list, is not free; nor is a page of a busy heap.
TYPED_TEST(PerThreadLifecycleTest, ReclaimTakesOnlyPagesWithNoBlockInUse) {
  auto& heap = this->heap();
  constexpr std::size_t kPerPage = kPageSize / kBlock;
  std::vector<Letter> blocks;
  Gate allocated, checked;
  std::thread owner([&] {
    blocks = AllocateBlocks(heap, 3 * kPerPage, 0);
    allocated.Open();
    checked.Wait();
    EXPECT_EQ(CheckAndFreeAll(heap, {blocks[0]}), 0);
  });
  allocated.Wait();
  // The first page keeps the owner's first block; the second is freed
  // whole; the third is the front.
  std::vector<Letter> others(blocks.begin() + 1, blocks.end());
  std::thread([&] {
    EXPECT_EQ(CheckAndFreeAll(heap, others), 0);
    heap.FlushRemoteFrees();
  }).join();
  heap.ReclaimIdleHeaps();
  EXPECT_EQ(heap.ReclaimIdleHeaps(), kPageSize);
  EXPECT_EQ(PageOf(blocks[0].block)->size_class, SizeClassOf(kRequest));
  EXPECT_TRUE(Intact(blocks[0]));
  EXPECT_EQ(PageOf(blocks[kPerPage].block)->size_class, kPageUnused);
  EXPECT_EQ(PageOf(blocks.back().block)->size_class, SizeClassOf(kRequest));
  ExpectConsistent(heap, 1);
  checked.Open();
  owner.join();
  ExpectConsistent(heap, 0);
}

// Owners allocate and free in bursts with pauses, other threads free their
// blocks, and a thread reclaims all along: under TSan, the proof that a
// reclaim touches nothing an owner's fast path writes unordered.
TYPED_TEST(PerThreadLifecycleTest, ReclaimRacesOwnersAndRemoteFrees) {
  auto& heap = this->heap();
  constexpr int kOwners = 3;
  const int rounds = kTsan ? 60 : 600;
  LetterQueue queue;
  std::atomic<bool> stop{false};
  std::atomic<int> damaged{0};
  std::thread reclaimer([&] {
    while (!stop.load()) {
      heap.ReclaimIdleHeaps();
      std::this_thread::yield();
    }
  });
  std::thread freer([&] {
    Letter l;
    while (!stop.load() || queue.size() != 0) {
      if (queue.Take(&l)) {
        damaged += CheckAndFree(heap, l) ? 0 : 1;
      } else {
        heap.FlushRemoteFrees();
        std::this_thread::yield();
      }
    }
    heap.FlushRemoteFrees();
  });
  std::vector<std::thread> owners;
  for (int t = 0; t < kOwners; ++t) {
    owners.emplace_back([&, t] {
      std::mt19937 random(t);
      std::vector<Letter> mine;
      for (int round = 0; round < rounds; ++round) {
        const std::size_t size = 16 + random() % 2000;
        for (int i = 0; i < 64; ++i) {
          void* p = heap.Allocate(size);
          if (p == nullptr) {
            ADD_FAILURE() << "allocation failed";
            return;
          }
          const std::uint64_t id = (std::uint64_t(t) << 40) | (round << 8) | i;
          FillPattern(p, size, id);
          mine.push_back({p, size, id});
        }
        // Half to the freer, some freed here, the rest kept a while.
        std::shuffle(mine.begin(), mine.end(), random);
        while (mine.size() > 32) {
          if (random() % 2 == 0) {
            queue.Post(mine.back());
          } else {
            damaged += CheckAndFree(heap, mine.back()) ? 0 : 1;
          }
          mine.pop_back();
        }
        if (round % 8 == 0) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      }
      damaged += CheckAndFreeAll(heap, mine);
    });
  }
  for (std::thread& t : owners) t.join();
  stop = true;
  freer.join();
  reclaimer.join();
  EXPECT_EQ(damaged.load(), 0);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_bytes, 0u);
}

TYPED_TEST(PerThreadLifecycleTest, AdoptionKeepsAnEmptiedChunkWithAFrontPage) {
  auto& heap = this->heap();
  std::vector<Letter> blocks;
  std::thread([&] { blocks = AllocateBlocks(heap, kOwnerBlocks, 0); }).join();
  const std::vector<std::vector<Letter>> chunks = GroupByChunk(blocks);
  ASSERT_EQ(chunks.size(), 3u);
  // The newest chunk holds the page the class allocates from next.
  std::atomic<int> damaged{0};
  std::thread([&] { damaged += CheckAndFreeAll(heap, chunks[2]); }).join();
  std::vector<Letter> more;
  std::thread([&] {
    heap.Deallocate(heap.Allocate(kRequest));
    EXPECT_EQ(heap.HeapCount(), 1u);
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);
    more = AllocateBlocks(heap, chunks[2].size(), 1 << 20);
    // Refilled in place: no new chunk.
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);
  }).join();
  ExpectConsistent(heap, blocks.size());
  damaged += CheckAndFreeAll(heap, chunks[0]) +
             CheckAndFreeAll(heap, chunks[1]) + CheckAndFreeAll(heap, more);
  EXPECT_EQ(damaged.load(), 0);
  ExpectConsistent(heap, 0);
}

TYPED_TEST(PerThreadLifecycleTest, ThousandsOfShortLivedThreadsHandBlocksOn) {
  auto& heap = this->heap();
  constexpr int kThreads = 2000;
  // At most this many threads live at once, so adoption bounds the heaps:
  // a heap is made only when none is abandoned, that is when every heap
  // belongs to a live thread.
  constexpr std::size_t kLive = 4;
  LetterQueue queue;
  std::atomic<int> failures{0};
  auto fail = [&failures](const char* what, std::uint64_t detail) {
    if (failures.fetch_add(1) < 10) ADD_FAILURE() << what << " " << detail;
  };
  auto worker = [&](std::uint64_t t) {
    std::mt19937_64 random(t);
    std::vector<Letter> mine;
    for (std::uint64_t i = 0; i < 48; ++i) {
      const unsigned kind = random() % 100;
      const std::size_t size = kind < 2    ? kSmallMax + 1 + random() % 60000
                               : kind < 6  ? kSmallMax - random() % 8000
                               : kind < 40 ? kRequest
                                           : random() % 1500;
      void* p = heap.Allocate(size);
      if (p == nullptr) return fail("allocation failed", size);
      const std::uint64_t id = (t << 20) | i;
      FillPattern(p, size, id);
      mine.push_back({p, size, id});
    }
    // Earlier threads' blocks: remote frees into heaps that are live,
    // abandoned, or adopted by now.
    Letter letter;
    for (int i = 0; i < 40 && queue.Take(&letter); ++i) {
      if (!CheckAndFree(heap, letter))
        fail("handed-on block damaged", letter.id);
    }
    for (std::size_t i = 0; i < mine.size(); ++i) {
      if (i % 2 == 0) {
        queue.Post(mine[i]);  // Outlives this thread.
      } else if (!CheckAndFree(heap, mine[i])) {
        fail("own block damaged", mine[i].id);
      }
    }
  };
  std::deque<std::thread> running;
  std::size_t most_heaps = 0;
  for (int t = 0; t < kThreads && failures.load() == 0; ++t) {
    if (running.size() == kLive) {
      running.front().join();
      running.pop_front();
    }
    running.emplace_back(worker, static_cast<std::uint64_t>(t));
    most_heaps = std::max(most_heaps, heap.HeapCount());
  }
  for (std::thread& t : running) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most_heaps, kLive);
  EXPECT_LE(heap.HeapCount(), kLive);
  Letter letter;
  while (queue.Take(&letter)) {
    EXPECT_TRUE(CheckAndFree(heap, letter)) << letter.id;
  }
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// A monitoring thread reads the statistics while three threads free each
// other's blocks: no race (TSan), no crash, and once the threads are joined
// and their remote frees collected, the figures are exact.
TYPED_TEST(PerThreadLifecycleTest, StatsBesideCrossThreadFrees) {
  auto& heap = this->heap();
  constexpr int kChurners = 3;
  constexpr std::size_t kSlots = 2048;
  std::vector<std::atomic<void*>> slots(kSlots);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> churned{0};
  std::vector<std::thread> churners;
  for (int t = 0; t < kChurners; ++t) {
    churners.emplace_back([&, t] {
      std::mt19937_64 random(t + 1);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t r = random();
        void* block = heap.Allocate(8 + r % 1000);
        ASSERT_NE(block, nullptr);
        // Mostly blocks another thread allocated: remote frees in flight
        // while their owners collect.
        heap.Deallocate(slots[(r >> 16) % kSlots].exchange(block));
        churned.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  const std::uint64_t rounds = kTsan ? 200 : 2000;
  for (std::uint64_t polls = 0;
       polls < rounds || churned.load(std::memory_order_relaxed) < 20000;
       ++polls) {
    const HeapStats stats = heap.Stats();
    EXPECT_LE(stats.allocated_bytes, stats.heap_bytes);
    EXPECT_LE(stats.allocated_bytes + stats.free_bytes, stats.heap_bytes);
  }
  stop = true;
  for (std::thread& t : churners) t.join();
  // Their heaps are abandoned now; a purge takes over the remote frees.
  heap.ReleaseFreeMemory();
  std::size_t held_blocks = 0, held_bytes = 0;
  for (std::atomic<void*>& slot : slots) {
    if (void* block = slot.load()) {
      ++held_blocks;
      held_bytes += heap.UsableSize(block);
    }
  }
  ExpectIntact(heap);
  const HeapStats stats = heap.Stats();
  EXPECT_EQ(stats.allocated_blocks, held_blocks);
  EXPECT_EQ(stats.allocated_bytes, held_bytes);
  for (std::atomic<void*>& slot : slots) heap.Deallocate(slot.load());
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// A thread's exit touches only its own heap: even with a purge due, it
// leaves alone the chunks other threads released, which stay committed for
// reuse until their own delay is over (an exit used to decommit them all).
// Two allocators, and a key of the program's between theirs: at thread exit
// the first allocator's destructor marks the thread exiting, then the
// program's destructor allocates from the second, whose own heap is still
// bound. Binding it must keep the mark, or the first allocator would bind a
// heap to the dead thread again instead of lending one.
struct ExitingProbe {
  PerThreadMalloc<MmapChunkSource>* second;
  bool exiting_after_binding = false;
  bool ran = false;
};

void AllocateFromSecondAtExit(void* arg) {
  auto* probe = static_cast<ExitingProbe*>(arg);
  void* block = probe->second->Allocate(16);
  probe->exiting_after_binding = per_thread_internal::tls_slot.exiting;
  probe->second->Deallocate(block);
  probe->ran = true;
}

TEST(PerThreadExitTest, ExitingMarkSurvivesBindingAnotherAllocatorsHeap) {
  auto first = std::make_unique<PerThreadMalloc<MmapChunkSource>>();
  auto second = std::make_unique<PerThreadMalloc<MmapChunkSource>>();
  // Keys in this order, so their destructors run in it: glibc takes the
  // lowest free key and runs destructors by key.
  first->Deallocate(first->Allocate(16));
  pthread_key_t key;
  ASSERT_EQ(pthread_key_create(&key, &AllocateFromSecondAtExit), 0);
  second->Deallocate(second->Allocate(16));
  ExitingProbe probe{second.get()};
  std::thread([&] {
    // The TLS slot ends holding the first's heap, which its destructor
    // clears: the second's is found again through its key, and bound.
    second->Deallocate(second->Allocate(16));
    first->Deallocate(first->Allocate(16));
    pthread_setspecific(key, &probe);
  }).join();
  pthread_key_delete(key);
  ASSERT_TRUE(probe.ran);
  EXPECT_TRUE(probe.exiting_after_binding);
}

TEST(PerThreadExitTest, ExitLeavesOtherThreadsReleasedChunksCommitted) {
  Tunables& tunables = TheTunables();
  const std::int64_t saved = tunables.purge_delay_ns.load();
  constexpr std::int64_t kDelayNs = 300'000'000;
  tunables.purge_delay_ns.store(kDelayNs);
  auto heap = std::make_unique<PerThreadMalloc<MmapChunkSource>>();
  std::atomic<int> step{0};
  std::thread exiting([&] {
    // A page emptied behind its queue's front: a purge falls due.
    const int cls = SizeClassOf(kRequest);
    std::vector<void*> blocks(2 * kPageSize / ClassSize(cls));
    for (void*& b : blocks) b = heap->Allocate(kRequest);
    for (void* b : blocks) heap->Deallocate(b);
    step = 1;
    while (step.load() != 2) std::this_thread::yield();
  });
  while (step.load() != 1) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::nanoseconds(kDelayNs) +
                              std::chrono::milliseconds(50));
  // Released just now: committed for another purge delay.
  void* chunk = heap->source().AllocateChunk();
  ASSERT_NE(chunk, nullptr);
  std::memset(chunk, 1, kChunkSize);
  heap->source().ReleaseChunk(chunk);
  const std::size_t resident = ResidentPages(chunk, kChunkSize);
  step = 2;
  exiting.join();
  EXPECT_GT(resident, 0u);
  EXPECT_EQ(ResidentPages(chunk, kChunkSize), resident);
  tunables.purge_delay_ns.store(saved);
}

// Threads allocating while ForkWhileThreadsAllocate forks.
constexpr int kForkWorkers = 3;

// The forked child's work; its exit status names what went wrong.
template <typename Heap>
int ChildAllocates(Heap& heap, const std::vector<Letter>& inherited,
                   std::size_t heaps_before_fork) {
  // The workers' heaps are orphans here: not counted.
  if (heap.HeapCount() + kForkWorkers > heaps_before_fork) return 17;
  // Frees into the heaps of threads that do not exist here.
  for (const Letter& l : inherited) {
    if (!CheckAndFree(heap, l)) return 10;
  }
  // More than two chunks of small blocks and some medium ones. The child
  // keeps off the system malloc: the block table is a block too.
  const std::size_t small = kOwnerBlocks;
  constexpr std::size_t kMedium = 12;
  const std::size_t count = small + kMedium;
  auto* table = static_cast<Letter*>(heap.Allocate(count * sizeof(Letter)));
  if (table == nullptr) return 11;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t size =
        i < small ? kRequest : kSmallMax + 1 + (i - small) * 25000;
    void* p = heap.Allocate(size);
    if (p == nullptr) return 12;
    FillPattern(p, size, i);
    table[i] = {p, size, i};
  }
  if (heap.Stats().heap_bytes < 3 * kChunkSize) return 13;
  for (std::size_t i = 0; i < count; ++i) {
    if (!Intact(table[i])) return 14;
  }
  if (!heap.Verify().ok()) return 15;
  for (std::size_t i = 0; i < count; ++i) heap.Deallocate(table[i].block);
  heap.Deallocate(table);
  if (!heap.Verify().ok()) return 16;
  return 0;
}

template <typename Heap>
void ForkWhileThreadsAllocate(Heap& heap_ref) {
  Heap* const heap = &heap_ref;
  const int forks = kTsan ? 8 : 20;
  constexpr int kWorkers = kForkWorkers;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> progress{0};
  std::atomic<int> failures{0};
  LetterQueue handoff;
  auto worker = [&](std::uint64_t t) {
    std::mt19937_64 random(t);
    std::vector<Letter> kept;
    std::uint64_t id = t << 40;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t size = random() % 8 == 0
                                   ? kSmallMax + 1 + random() % 100000
                                   : random() % 3000;
      void* p = heap->Allocate(size);
      if (p == nullptr) {
        ++failures;
        break;
      }
      FillPattern(p, size, id);
      kept.push_back({p, size, id++});
      if (kept.size() > 64) {
        const std::size_t victim = random() % kept.size();
        if (!CheckAndFree(*heap, kept[victim])) ++failures;
        kept[victim] = kept.back();
        kept.pop_back();
      }
      if (random() % 16 == 0 && handoff.size() < 256) {
        handoff.Post(kept.back());
        kept.pop_back();
      }
      progress.fetch_add(1, std::memory_order_relaxed);
    }
    for (const Letter& l : kept) {
      if (!CheckAndFree(*heap, l)) ++failures;
    }
  };
  std::vector<std::thread> workers;
  std::atomic<int> bound{0};  // Workers with a heap of their own.
  for (int t = 0; t < kWorkers; ++t) {
    workers.emplace_back(
        [&](std::uint64_t seed) {
          heap->Deallocate(heap->Allocate(16));
          ++bound;
          worker(seed);
        },
        static_cast<std::uint64_t>(t + 1));
  }
  while (bound.load() != kWorkers) std::this_thread::yield();
  for (int f = 0; f < forks; ++f) {
    // Forks land while the workers are busy, not before they start.
    const std::uint64_t seen = progress.load();
    while (progress.load() < seen + 200 && failures.load() == 0) {
      std::this_thread::yield();
    }
    std::vector<Letter> inherited;
    Letter letter;
    while (inherited.size() < 16 && handoff.Take(&letter)) {
      inherited.push_back(letter);
    }
    // Every worker has its heap by now, and the main thread none.
    const std::size_t heaps_before_fork = heap->HeapCount();
    // What pthread_atfork does for the global heap.
    heap->LockForFork();
    const pid_t child = fork();
    if (child == 0) {
      heap->UnlockAfterForkInChild();
      alarm(20);  // A deadlock fails the test instead of hanging it.
      _exit(ChildAllocates(*heap, inherited, heaps_before_fork));
    }
    heap->UnlockAfterFork();
    if (child < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      break;
    }
    int status = 0;
    EXPECT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "fork " << f << ": "
        << (WIFEXITED(status)
                ? "child exited with " + std::to_string(WEXITSTATUS(status))
                : "child killed by signal " + std::to_string(WTERMSIG(status)));
    for (const Letter& l : inherited) {
      EXPECT_TRUE(CheckAndFree(*heap, l)) << l.id;
    }
  }
  stop = true;
  for (std::thread& t : workers) t.join();
  EXPECT_EQ(failures.load(), 0);
  Letter letter;
  while (handoff.Take(&letter)) {
    EXPECT_TRUE(CheckAndFree(*heap, letter)) << letter.id;
  }
  ExpectIntact(*heap);
  EXPECT_EQ(heap->Stats().allocated_blocks, 0u);
}

TYPED_TEST(PerThreadLifecycleTest,
           ForkedChildGetsNewChunksWhileThreadsAllocate) {
  using Source = std::remove_reference_t<decltype(this->heap().source())>;
  if constexpr (!requires(Source & s) { s.LockForFork(); }) {
    GTEST_SKIP() << "the chunk source has no fork hooks, so "
                    "PerThreadMalloc::LockForFork does not compile for it";
  } else {
    ForkWhileThreadsAllocate(this->heap());
  }
}

// Allocates `size` bytes and expects IsLiveBlock to accept the block's start
// and none of its other bytes. Returns nullptr if the allocation fails.
template <typename Heap>
char* AllocateWithOnlyItsStartLive(Heap& heap, std::size_t size) {
  auto* p = static_cast<char*>(heap.Allocate(size));
  if (p == nullptr) return nullptr;
  const std::size_t usable = heap.UsableSize(p);
  FillPattern(p, usable, size);
  EXPECT_TRUE(heap.IsLiveBlock(p));
  for (std::size_t offset = 1; offset < usable; ++offset) {
    if (heap.IsLiveBlock(p + offset)) {
      ADD_FAILURE() << size << " + " << offset << " is taken for a block";
      break;
    }
  }
  return p;
}

TYPED_TEST(PerThreadLifecycleTest, OnlyBlockStartsAreLive) {
  auto& heap = this->heap();
  for (const std::size_t size :
       {std::size_t{16}, std::size_t{48}, kRequest, std::size_t{4096},
        std::size_t{20000}, kSmallMax}) {
    char* p = AllocateWithOnlyItsStartLive(heap, size);
    ASSERT_NE(p, nullptr);
    heap.Deallocate(p);
    EXPECT_FALSE(heap.IsLiveBlock(p));
  }
}

template <typename T>
class PerThreadLifecycleDeathTest : public PerThreadHeapTest<T> {};
TYPED_TEST_SUITE(PerThreadLifecycleDeathTest, ChunkSources, ChunkSourceNames);

constexpr char kNotABlock[] = "pointer is not a block of this heap";
constexpr char kNotAStart[] =
    "pointer is not the start of a block of this heap";

// Neither IsLiveBlock nor a free takes `p` for the start of a block.
template <typename Heap>
void ExpectNotAStart(Heap& heap, void* p) {
  EXPECT_FALSE(heap.IsLiveBlock(p));
  EXPECT_DEATH(heap.Deallocate(p), kNotAStart);
}

constexpr char kDoubleFree[] = "double free";

TYPED_TEST(PerThreadLifecycleDeathTest, FreeingAnythingButABlockStartAborts) {
  auto& heap = this->heap();
  for (const std::size_t size :
       {std::size_t{16}, kRequest, std::size_t{4096}, kSmallMax}) {
    auto* p = static_cast<char*>(heap.Allocate(size));
    ASSERT_NE(p, nullptr);
    const std::size_t usable = heap.UsableSize(p);
    EXPECT_DEATH(heap.Deallocate(p + 8), kNotABlock) << size;
    EXPECT_DEATH(heap.Deallocate(p + usable / 2), kNotABlock) << size;
    if (usable > 16) {
      EXPECT_DEATH(heap.Deallocate(p + usable - 16), kNotABlock) << size;
    }
  }

  auto* p = static_cast<char*>(heap.Allocate(kRequest));
  ChunkHeader* chunk = ChunkOf(p);
  PageInfo* page = PageOf(p);
  // The chunk's header page, a page not in use, the untouched end of a page.
  EXPECT_DEATH(heap.Deallocate(chunk), kNotABlock);
  EXPECT_DEATH(heap.Deallocate(reinterpret_cast<char*>(chunk) +
                               (kPagesPerChunk - 1) * kPageSize),
               kNotABlock);
  const std::uint32_t extended = (page->linked_bytes.load() / page->block_size);
  ASSERT_LT(extended, page->capacity);
  EXPECT_DEATH(heap.Deallocate(page->start + extended * kBlock), kNotABlock);
  // A block the page has linked up but never handed out is a free block.
  EXPECT_DEATH(heap.Deallocate(page->start + (extended - 1) * kBlock),
               kDoubleFree);
  heap.Deallocate(p);
  EXPECT_DEATH(heap.Deallocate(p), kDoubleFree);

  // A span's block, from its first page and a later one; an interior.
  constexpr std::size_t kSpanBlock = 96 * 1024;
  auto* span = static_cast<char*>(heap.Allocate(kSpanBlock));
  ASSERT_NE(PageOf(span)->span_pages, 1);
  auto* later = static_cast<char*>(heap.Allocate(kSpanBlock));
  ASSERT_EQ(SpanOf(later), SpanOf(span));
  ASSERT_NE(PageOf(later), PageOf(span));
  EXPECT_DEATH(heap.Deallocate(later + 16), kNotABlock);
  EXPECT_DEATH(heap.Deallocate(span + kPageSize), kNotABlock);
  heap.Deallocate(later);
  EXPECT_DEATH(heap.Deallocate(later), kDoubleFree);
  heap.Deallocate(span);

  // A medium block's interior (alignment beyond a page sends it there).
  auto* medium =
      static_cast<char*>(heap.Allocate(kSmallMax + 1000, 2 * kPageSize));
  EXPECT_DEATH(heap.Deallocate(medium + 16), kNotAStart);
  heap.Deallocate(medium);
}

TYPED_TEST(PerThreadLifecycleDeathTest, FreeingIntoAReleasedChunkAborts) {
  auto& heap = this->heap();
  const std::vector<Letter> blocks = AllocateBlocks(heap, kOwnerBlocks, 0);
  const std::vector<std::vector<Letter>> chunks = GroupByChunk(blocks);
  ASSERT_EQ(chunks.size(), 3u);
  const std::size_t before = heap.Stats().heap_bytes;
  for (const Letter& l : chunks[0]) heap.Deallocate(l.block);
  heap.ReleaseFreeMemory();  // Empty pages are otherwise kept a while.
  ASSERT_EQ(heap.Stats().heap_bytes, before - kChunkSize);
  // Still in the source's range, but no longer any heap's chunk. Under
  // ASan, the source poisons a released chunk: reading its header at all is
  // reported.
  const bool poisoned =
      kAsanPoisoning && std::is_same_v<TypeParam, testing::MmapSourced>;
  for (const Letter& l : {chunks[0].front(), chunks[0].back()}) {
    if (poisoned) {
      EXPECT_DEATH(static_cast<void>(heap.IsLiveBlock(l.block)),
                   "use-after-poison");
    } else {
      EXPECT_FALSE(heap.IsLiveBlock(l.block));
    }
    EXPECT_DEATH(heap.Deallocate(l.block),
                 poisoned ? "use-after-poison" : kNotABlock);
  }
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

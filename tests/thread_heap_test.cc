#include "allocator/per_thread/thread_heap.h"

#include <bit>
#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "allocator/common/check.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/tunables.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/page.h"
#include "allocator/per_thread/page_queue.h"
#include "allocator/per_thread/retained_budget.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/per_thread_sources.h"
#include "testing/resident.h"
#include "testing/test_growers.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::ChunkSourceNames;
using ::rusty_malloc::testing::ExpectIntact;
using ::rusty_malloc::testing::ResidentPages;
using ::rusty_malloc::testing::TestGrower;

// Each chunk source, made afresh for every test's thread heap.
struct MmapChunks {
  using Source = MmapChunkSource;
  static constexpr const char* kName = "MmapChunkSource";
  static std::unique_ptr<Source> Make() {
    return std::make_unique<Source>(64 * kChunkSize);
  }
};

struct GrowerChunks {
  using Source = GrowerChunkSource<TestGrower>;
  static constexpr const char* kName = "GrowerChunkSource";
  static std::unique_ptr<Source> Make() {
    return std::make_unique<Source>(TestGrower(64 * kChunkSize));
  }
};

template <typename Sourced>
class ThreadHeapTest : public ::testing::Test {
 protected:
  using Heap = ThreadHeap<typename Sourced::Source>;
  Heap& heap() { return heap_; }

 private:
  std::unique_ptr<typename Sourced::Source> source_ = Sourced::Make();
  Heap heap_{source_.get()};
};
using Sources = ::testing::Types<MmapChunks, GrowerChunks>;
TYPED_TEST_SUITE(ThreadHeapTest, Sources, ChunkSourceNames);

int ChunkCount(const ChunkHeader* chunks) {
  int count = 0;
  for (const ChunkHeader* c = chunks; c != nullptr; c = c->next) ++count;
  return count;
}

TYPED_TEST(ThreadHeapTest, AllocatesBlocksOfTheClassFromItsOwnChunks) {
  auto& heap = this->heap();
  const int cls = SizeClassOf(100);
  void* a = heap.Allocate(cls);
  void* b = heap.Allocate(cls);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(ChunkOf(a)->heap, &heap);
  EXPECT_EQ(PageOf(a)->block_size, ClassSize(cls));
  EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a),
            static_cast<std::ptrdiff_t>(ClassSize(cls)));
  EXPECT_EQ(InUse(PageOf(a)->used), 2u);
  heap.FreeLocal(PageOf(b), b);
  EXPECT_EQ(heap.Allocate(cls), b);  // LIFO.
  ExpectIntact(heap);
}

TYPED_TEST(ThreadHeapTest, FreshBlocksAreLinkedAPieceAtATime) {
  auto& heap = this->heap();
  const int cls = SizeClassOf(100);
  const std::uint32_t piece =
      static_cast<std::uint32_t>(kFreshBlockBytes / ClassSize(cls));
  std::vector<void*> blocks{heap.Allocate(cls)};
  const PageInfo* page = PageOf(blocks[0]);
  EXPECT_EQ((page->linked_bytes.load() / page->block_size), piece);
  while (blocks.size() < piece) blocks.push_back(heap.Allocate(cls));
  EXPECT_EQ((page->linked_bytes.load() / page->block_size), piece);
  blocks.push_back(heap.Allocate(cls));
  EXPECT_EQ(PageOf(blocks.back()), page);
  EXPECT_EQ((page->linked_bytes.load() / page->block_size), 2 * piece);
  ExpectIntact(heap);
  for (void* p : blocks) heap.FreeLocal(PageOf(p), p);
}

TYPED_TEST(ThreadHeapTest, RemoteFreesComeBackWhenThePageRunsDry) {
  auto& heap = this->heap();
  using Heap = std::remove_reference_t<decltype(heap)>;
  const int cls = SizeClassOf(kLookupMax);  // Two blocks per page.
  void* a = heap.Allocate(cls);
  void* b = heap.Allocate(cls);
  PageInfo* page = PageOf(a);
  std::thread([page, a, b] {
    Heap::FreeRemote(page, a);
    Heap::FreeRemote(page, b);
  }).join();
  EXPECT_EQ(InUse(page->used), 2u);  // Not collected yet.
  ExpectIntact(heap);
  void* c = heap.Allocate(cls);
  EXPECT_TRUE(c == a || c == b);  // Same page: nothing new was mapped.
  EXPECT_EQ(PageOf(c), page);
}

TYPED_TEST(ThreadHeapTest, FreedBlocksBehindTheFrontComeBeforeFreshOnes) {
  auto& heap = this->heap();
  using Heap = std::remove_reference_t<decltype(heap)>;
  const int cls = SizeClassOf(100);
  // A full first page, then the second page's first linked piece in use:
  // the front page has no free block but untouched room.
  std::vector<void*> blocks{heap.Allocate(cls)};
  PageInfo* full = PageOf(blocks[0]);
  while (PageOf(blocks.back()) == full) blocks.push_back(heap.Allocate(cls));
  PageInfo* front = PageOf(blocks.back());
  const std::uint32_t linked = front->linked_bytes.load();
  while (front->free != nullptr) blocks.push_back(heap.Allocate(cls));
  void* freed = blocks[1];
  std::thread([full, freed] { Heap::FreeRemote(full, freed); }).join();

  void* again = heap.Allocate(cls);
  EXPECT_EQ(again, freed) << "fresh memory was touched while a freed block "
                             "waited on the page behind the front";
  EXPECT_EQ(front->linked_bytes.load(), linked);
  ExpectIntact(heap);
  blocks[1] = again;
  for (void* p : blocks) heap.FreeLocal(PageOf(p), p);
  ExpectIntact(heap);
}

TYPED_TEST(ThreadHeapTest, EmptyPagesRetireAndEmptyChunksGoBack) {
  auto& heap = this->heap();
  const int cls = SizeClassOf(4096);
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(heap.Allocate(cls));
  EXPECT_GT(ChunkCount(heap.chunks()), 1);
  ExpectIntact(heap);
  const int chunks = ChunkCount(heap.chunks());
  for (void* p : blocks) heap.FreeLocal(PageOf(p), p);
  // Kept for reuse until a purge.
  EXPECT_EQ(ChunkCount(heap.chunks()), chunks);
  ExpectIntact(heap);
  // A purge retires every empty page, those at a queue's front too, and
  // gives back every empty chunk, the last one too.
  heap.Purge();
  EXPECT_EQ(ChunkCount(heap.chunks()), 0);
  ExpectIntact(heap);
}

// Classes above half a page take runs of pages: one descriptor, at the
// run's first page, found from any block of it; retiring frees the run.
TYPED_TEST(ThreadHeapTest, LargeClassesSpanRunsOfPages) {
  auto& heap = this->heap();
  const int cls = SizeClassOf(200 * 1024);
  const int span = SpanPagesOf(cls);
  ASSERT_GT(span, 1);
  void* small = heap.Allocate(0);  // Page 1: the span starts behind it.
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < 2 * kPageSize * span / ClassSize(cls); ++i) {
    blocks.push_back(heap.Allocate(cls));
    ASSERT_NE(blocks.back(), nullptr);
  }
  PageInfo* first = SpanOf(blocks[0]);
  EXPECT_EQ(first, PageOf(blocks[0]));
  EXPECT_EQ(first->span_pages, span);
  EXPECT_EQ(first - ChunkOf(small)->pages, 2);
  EXPECT_EQ(ChunkOf(small)->used_pages, PageRunMask(0, 2 + 2 * span));
  for (void* b : blocks) {
    PageInfo* page = SpanOf(b);
    EXPECT_EQ(page->size_class, cls);
    EXPECT_EQ((static_cast<std::byte*>(b) - page->start) % ClassSize(cls), 0);
    if (PageOf(b) != page) {
      EXPECT_EQ(PageOf(b)->size_class, kPageContinues);
    }
  }
  ExpectIntact(heap);
  // The first span empties and retires (the second, the newest, serves at
  // its queue's head and stays); a one-page class then takes its first page.
  const std::size_t per_span = blocks.size() / 2;
  ASSERT_NE(SpanOf(blocks[per_span]), first);
  for (std::size_t i = 0; i < per_span; ++i) {
    heap.FreeLocal(SpanOf(blocks[i]), blocks[i]);
  }
  ExpectIntact(heap);
  EXPECT_EQ(first->size_class, cls);  // Kept for reuse until a purge.
  heap.Purge();
  ExpectIntact(heap);
  EXPECT_EQ(first->size_class, kPageUnused);
  for (int k = 1; k < span; ++k) {
    EXPECT_EQ(first[k].size_class, kPageUnused);
    EXPECT_EQ(first[k].span_back, 0);
  }
  EXPECT_EQ(ChunkOf(small)->used_pages,
            PageRunMask(0, 2) | PageRunMask(2 + span, span));
  void* other = heap.Allocate(SizeClassOf(1000));
  EXPECT_EQ(PageOf(other), first);
  heap.FreeLocal(PageOf(other), other);
  for (std::size_t i = per_span; i < blocks.size(); ++i) {
    heap.FreeLocal(SpanOf(blocks[i]), blocks[i]);
  }
  heap.FreeLocal(PageOf(small), small);
  ExpectIntact(heap);
}

// Retired pages stay committed for reuse only while the process-wide
// budget has room: the rest go back to the OS at once, not after the purge
// delay, and the count follows the pages back into use.
TEST(ThreadHeapPurgeTest, RetiredPagesPastTheBudgetGoBackAtOnce) {
  MmapChunkSource source;
  RetainedBudget budget(/*floor_bytes=*/2 * kPageSize, /*per_heap_bytes=*/0);
  ThreadHeap<MmapChunkSource> heap(&source);
  heap.set_budget(&budget);
  const int cls = SizeClassOf(1024);
  const std::size_t per_page = kPageSize / ClassSize(cls);
  constexpr int kPages = 6;  // Then a last page, to stay in use.
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < (kPages + 1) * per_page; ++i) {
    blocks.push_back(heap.Allocate(cls));
    std::memset(blocks.back(), 1, ClassSize(cls));
  }
  std::vector<std::byte*> starts;
  for (int p = 0; p < kPages; ++p) {
    starts.push_back(PageOf(blocks[p * per_page])->start);
  }
  ASSERT_NE(PageOf(blocks.back())->start, starts.back());
  for (std::size_t i = 0; i < kPages * per_page; ++i) {
    heap.FreeLocal(PageOf(blocks[i]), blocks[i]);
  }
  heap.CollectAll();
  EXPECT_EQ(budget.retained(), 2 * kPageSize);
  std::size_t resident = 0;
  for (std::byte* start : starts) {
    EXPECT_EQ(PageOf(start)->size_class, kPageUnused);
    resident += ResidentPages(start, kPageSize);
  }
  EXPECT_EQ(resident, 2 * kPageSize / 4096)
      << "retired pages past the budget were kept committed";
  EXPECT_EQ(std::popcount(ChunkOf(starts[0])->dirty_unused), 2);

  // Back in use, a retained page leaves the count; a purge empties it.
  void* again = heap.Allocate(SizeClassOf(5000));
  EXPECT_EQ(budget.retained(), kPageSize);
  heap.FreeLocal(PageOf(again), again);
  heap.Purge();
  EXPECT_EQ(budget.retained(), 0u);
  for (std::size_t i = kPages * per_page; i < blocks.size(); ++i) {
    heap.FreeLocal(PageOf(blocks[i]), blocks[i]);
  }
  heap.CollectAll(Collect::kEverything);
  EXPECT_EQ(heap.chunks(), nullptr);
  EXPECT_EQ(budget.retained(), 0u);
}

// An emptied page stays in its queue for reuse; once the purge delay is
// over, the next new page retires it and gives its memory back to the OS.
// Its chunk stays.
TEST(ThreadHeapPurgeTest, EmptyPagesGoBackAfterThePurgeDelay) {
  MmapChunkSource source;
  ThreadHeap<MmapChunkSource> heap(&source);
  const int cls = SizeClassOf(1024);
  std::vector<void*> blocks;
  const std::size_t per_page = kPageSize / ClassSize(cls);
  for (std::size_t i = 0; i < 3 * per_page; ++i) {
    blocks.push_back(heap.Allocate(cls));
    std::memset(blocks.back(), 1, ClassSize(cls));
  }
  PageInfo* first = PageOf(blocks[0]);
  std::byte* const first_start = first->start;
  PageInfo* second = PageOf(blocks[per_page]);
  ASSERT_NE(first, PageOf(blocks.back()));
  ASSERT_EQ(ResidentPages(first_start, kPageSize), kPageSize / 4096);
  for (std::size_t i = 0; i < per_page; ++i) {
    heap.FreeLocal(PageOf(blocks[i]), blocks[i]);
  }
  EXPECT_EQ(first->size_class, cls);
  EXPECT_EQ(ChunkOf(first_start)->dirty_unused, 0u);
  // Within the delay the class allocates from the kept page again.
  void* reused = heap.Allocate(cls);
  EXPECT_EQ(PageOf(reused), first);
  heap.FreeLocal(PageOf(reused), reused);
  for (std::size_t i = per_page; i < 2 * per_page; ++i) {
    heap.FreeLocal(PageOf(blocks[i]), blocks[i]);
  }
  std::this_thread::sleep_for(std::chrono::nanoseconds(kDefaultPurgeDelayNs) +
                              std::chrono::milliseconds(50));
  // A new page purges first: both empty pages retire (the one at its
  // queue's front too), and the new page takes the first. Of its 16 OS
  // pages only those its first blocks' links went to are back.
  const int other = SizeClassOf(5000);
  void* later = heap.Allocate(other);
  EXPECT_EQ(PageOf(later), first);
  EXPECT_EQ(second->size_class, kPageUnused);
  EXPECT_EQ(ChunkOf(first_start)->dirty_unused, 0u);
  std::set<std::size_t> linked_os_pages;
  for (std::size_t offset = 0; offset < first->linked_bytes.load();
       offset += ClassSize(other)) {
    linked_os_pages.insert(offset / 4096);
  }
  EXPECT_EQ(ResidentPages(first_start, kPageSize), linked_os_pages.size());
  EXPECT_EQ(ResidentPages(first_start + kPageSize, kPageSize), 0u);
  heap.FreeLocal(PageOf(later), later);
  for (std::size_t i = 2 * per_page; i < blocks.size(); ++i) {
    heap.FreeLocal(PageOf(blocks[i]), blocks[i]);
  }
  ExpectIntact(heap);
  EXPECT_NE(heap.chunks(), nullptr);
  // Collecting everything releases even the last chunk.
  heap.CollectAll(Collect::kEverything);
  EXPECT_EQ(heap.chunks(), nullptr);
  ExpectIntact(heap);
}

// With a purge delay of 0, each new page after an emptied one would purge
// (walk) the whole heap. Purges are at most one per 4 ms instead, and the
// memory still goes back.
TEST(ThreadHeapPurgeTest, PurgesWithNoDelayAreRateLimited) {
  Tunables& tunables = TheTunables();
  const std::int64_t saved = tunables.purge_delay_ns.load();
  tunables.purge_delay_ns.store(0);
  MmapChunkSource source;
  ThreadHeap<MmapChunkSource> heap(&source);
  // Two classes of the same block size per page, in turns: a purge
  // retires the other class's emptied pages, so the next turn needs new
  // pages, whose NewPage purges again when due.
  const int classes[2] = {SizeClassOf(1024), SizeClassOf(2048)};
  std::vector<void*> blocks(3 * kPageSize / 1024);
  const auto start = std::chrono::steady_clock::now();
  constexpr int kRounds = 500;
  for (int round = 0; round < kRounds; ++round) {
    const int cls = classes[round % 2];
    const std::size_t count = 3 * kPageSize / ClassSize(cls);
    for (std::size_t i = 0; i < count; ++i) blocks[i] = heap.Allocate(cls);
    for (std::size_t i = 0; i < count; ++i) {
      heap.FreeLocal(PageOf(blocks[i]), blocks[i]);
    }
  }
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  EXPECT_LE(heap.purges(), static_cast<std::uint64_t>(elapsed_ms / 4 + 2))
      << "in " << elapsed_ms << " ms";
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  heap.PurgeIfDue(CoarseNowNs() + kMinHousekeepingIntervalNs);
  ExpectIntact(heap);
  for (const ChunkHeader* c = heap.chunks(); c != nullptr; c = c->next) {
    EXPECT_EQ(c->dirty_unused, 0u);
  }
  tunables.purge_delay_ns.store(saved);
}

TYPED_TEST(ThreadHeapTest, VerifyNamesALostPageCount) {
  auto& heap = this->heap();
  void* a = heap.Allocate(0);
  ++PageOf(a)->used;
  const HeapReport report = heap.Verify();
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.ToString().find("do not add up"), std::string::npos)
      << report.ToString();
  --PageOf(a)->used;
  ExpectIntact(heap);
}

template <typename Sourced>
class ThreadHeapDeathTest : public ThreadHeapTest<Sourced> {};
TYPED_TEST_SUITE(ThreadHeapDeathTest, Sources, ChunkSourceNames);

TYPED_TEST(ThreadHeapDeathTest, DoubleFreeAborts) {
  auto& heap = this->heap();
  using Heap = std::remove_reference_t<decltype(heap)>;
  void* a = heap.Allocate(0);
  void* neighbour = heap.Allocate(0);
  heap.FreeLocal(PageOf(a), a);
  EXPECT_DEATH(heap.FreeLocal(PageOf(a), a), "double free");
  EXPECT_DEATH(Heap::FreeRemote(PageOf(a), a), "double free");
  heap.FreeLocal(PageOf(neighbour), neighbour);
}

// PageQueue links the pages themselves: descriptors on the stack will do.
std::vector<const PageInfo*> Pages(const PageQueue& queue) {
  std::vector<const PageInfo*> pages;
  for (const PageInfo* p = queue.head(); p != nullptr; p = p->next) {
    pages.push_back(p);
  }
  return pages;
}

TEST(PageQueueTest, PushesAtBothEndsAndUnlinksAnywhere) {
  PageInfo a, b, c;
  PageQueue queue;
  EXPECT_EQ(queue.head(), nullptr);
  queue.PushBack(&b);
  queue.PushFront(&a);
  queue.PushBack(&c);
  EXPECT_EQ(Pages(queue), (std::vector<const PageInfo*>{&a, &b, &c}));
  queue.Unlink(&b);
  EXPECT_EQ(Pages(queue), (std::vector<const PageInfo*>{&a, &c}));
  EXPECT_EQ(b.next, nullptr);
  EXPECT_EQ(b.prev, nullptr);
  queue.Unlink(&c);
  queue.PushBack(&b);  // The tail moved back to a, then on to b.
  EXPECT_EQ(Pages(queue), (std::vector<const PageInfo*>{&a, &b}));
  queue.Unlink(&a);
  queue.Unlink(&b);
  EXPECT_EQ(queue.head(), nullptr);
  queue.PushBack(&c);
  EXPECT_EQ(Pages(queue), (std::vector<const PageInfo*>{&c}));
}

// The queue's contracts ("in this queue", "in no queue") are checked in
// every build but -c opt: a page queued twice, or unlinked from a queue it
// is not in, dies with the check's report rather than corrupting the links.
TEST(PageQueueDeathTest, ContractsAreChecked) {
  if (!RUSTY_MALLOC_DCHECKS) GTEST_SKIP() << "DCHECKs are compiled out";
  PageInfo a, b, c;
  PageQueue queue;
  queue.PushBack(&a);
  queue.PushBack(&b);
  EXPECT_DEATH(queue.PushFront(&b), "check failed: .*page_queue.h");
  EXPECT_DEATH(queue.PushBack(&a), "check failed: .*page_queue.h");
  EXPECT_DEATH(queue.Unlink(&c), "check failed: .*page_queue.h");
  queue.Unlink(&a);
  queue.Unlink(&b);
}

// Only the front page carries the bias, whatever moved it there; an empty
// queue's front has no block for malloc's fast path to take.
TEST(PageQueueTest, TheFrontPageAloneCarriesTheBias) {
  PageInfo a, b, c;
  PageQueue queue;
  EXPECT_EQ(queue.front()->free, nullptr);
  auto biased = [&] {
    std::vector<const PageInfo*> pages;
    for (const PageInfo* p : {&a, &b, &c}) {
      if (p->used >= kFrontBias) pages.push_back(p);
      EXPECT_EQ(InUse(p->used), 0u);
    }
    return pages;
  };
  queue.PushBack(&a);
  EXPECT_EQ(biased(), (std::vector<const PageInfo*>{&a}));
  queue.PushFront(&b);
  queue.PushBack(&c);
  EXPECT_EQ(biased(), (std::vector<const PageInfo*>{&b}));
  queue.Unlink(&b);
  EXPECT_EQ(biased(), (std::vector<const PageInfo*>{&a}));
  queue.Unlink(&c);
  queue.Unlink(&a);
  EXPECT_TRUE(biased().empty());
  EXPECT_EQ(queue.front()->free, nullptr);
}

TEST(PageQueueTest, MovesAPageBehindTheHead) {
  PageInfo a, b, c, d;
  PageQueue queue;
  for (PageInfo* p : {&a, &b, &c, &d}) queue.PushBack(p);
  queue.MoveBehindHead(&d);
  EXPECT_EQ(Pages(queue), (std::vector<const PageInfo*>{&a, &d, &b, &c}));
  queue.MoveBehindHead(&a);  // The head itself stays.
  queue.MoveBehindHead(&d);  // Already there.
  EXPECT_EQ(Pages(queue), (std::vector<const PageInfo*>{&a, &d, &b, &c}));
  queue.MoveBehindHead(&c);  // From the tail: b becomes the tail.
  EXPECT_EQ(Pages(queue), (std::vector<const PageInfo*>{&a, &c, &d, &b}));
  queue.Unlink(&d);
  queue.PushBack(&d);
  EXPECT_EQ(Pages(queue), (std::vector<const PageInfo*>{&a, &c, &b, &d}));
}

}  // namespace
}  // namespace rusty_malloc

#include "allocator/per_thread/thread_heap.h"

#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/page.h"
#include "allocator/per_thread/page_queue.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/per_thread_sources.h"
#include "testing/test_growers.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::ChunkSourceNames;
using ::rusty_malloc::testing::ExpectIntact;
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
  EXPECT_EQ(PageOf(a)->used, 2u);
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
  EXPECT_EQ(page->extended.load(), piece);
  while (blocks.size() < piece) blocks.push_back(heap.Allocate(cls));
  EXPECT_EQ(page->extended.load(), piece);
  blocks.push_back(heap.Allocate(cls));
  EXPECT_EQ(PageOf(blocks.back()), page);
  EXPECT_EQ(page->extended.load(), 2 * piece);
  ExpectIntact(heap);
  for (void* p : blocks) heap.FreeLocal(PageOf(p), p);
}

TYPED_TEST(ThreadHeapTest, RemoteFreesComeBackWhenThePageRunsDry) {
  auto& heap = this->heap();
  using Heap = std::remove_reference_t<decltype(heap)>;
  const int cls = SizeClassOf(kSmallMax);  // Two blocks per page.
  void* a = heap.Allocate(cls);
  void* b = heap.Allocate(cls);
  PageInfo* page = PageOf(a);
  std::thread([page, a, b] {
    Heap::FreeRemote(page, a);
    Heap::FreeRemote(page, b);
  }).join();
  EXPECT_EQ(page->used, 2u);  // Not collected yet.
  ExpectIntact(heap);
  void* c = heap.Allocate(cls);
  EXPECT_TRUE(c == a || c == b);  // Same page: nothing new was mapped.
  EXPECT_EQ(PageOf(c), page);
}

TYPED_TEST(ThreadHeapTest, EmptyPagesRetireAndEmptyChunksGoBack) {
  auto& heap = this->heap();
  const int cls = SizeClassOf(4096);
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(heap.Allocate(cls));
  EXPECT_GT(ChunkCount(heap.chunks()), 1);
  ExpectIntact(heap);
  for (void* p : blocks) heap.FreeLocal(PageOf(p), p);
  EXPECT_EQ(ChunkCount(heap.chunks()), 1);
  ExpectIntact(heap);
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

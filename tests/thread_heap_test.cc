#include "allocator/per_thread/thread_heap.h"

#include <cstring>
#include <thread>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

TEST(ThreadHeapTest, AllocatesBlocksOfTheClassFromItsOwnChunks) {
  MmapChunkSource source(64 * kChunkSize);
  ThreadHeap<MmapChunkSource> heap(&source);
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
}

TEST(ThreadHeapTest, RemoteFreesComeBackWhenThePageRunsDry) {
  MmapChunkSource source(64 * kChunkSize);
  ThreadHeap<MmapChunkSource> heap(&source);
  const int cls = SizeClassOf(kSmallMax);  // Two blocks per page.
  void* a = heap.Allocate(cls);
  void* b = heap.Allocate(cls);
  PageInfo* page = PageOf(a);
  std::thread([page, a, b] {
    ThreadHeap<MmapChunkSource>::FreeRemote(page, a);
    ThreadHeap<MmapChunkSource>::FreeRemote(page, b);
  }).join();
  EXPECT_EQ(page->used, 2u);  // Not collected yet.
  void* c = heap.Allocate(cls);
  EXPECT_TRUE(c == a || c == b);  // Same page: nothing new was mapped.
  EXPECT_EQ(PageOf(c), page);
}

TEST(ThreadHeapTest, EmptyPagesRetireAndEmptyChunksGoBack) {
  MmapChunkSource source(64 * kChunkSize);
  ThreadHeap<MmapChunkSource> heap(&source);
  const int cls = SizeClassOf(4096);
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(heap.Allocate(cls));
  int chunks = 0;
  for (ChunkHeader* c = heap.chunks(); c != nullptr; c = c->next) ++chunks;
  EXPECT_GT(chunks, 1);
  for (void* p : blocks) heap.FreeLocal(PageOf(p), p);
  chunks = 0;
  for (ChunkHeader* c = heap.chunks(); c != nullptr; c = c->next) ++chunks;
  EXPECT_EQ(chunks, 1);
}

TEST(ThreadHeapDeathTest, DoubleFreeAborts) {
  MmapChunkSource source(64 * kChunkSize);
  ThreadHeap<MmapChunkSource> heap(&source);
  void* a = heap.Allocate(0);
  heap.Allocate(0);
  heap.FreeLocal(PageOf(a), a);
  EXPECT_DEATH(heap.FreeLocal(PageOf(a), a), "double free");
  EXPECT_DEATH(ThreadHeap<MmapChunkSource>::FreeRemote(PageOf(a), a),
               "double free");
}

}  // namespace
}  // namespace rusty_malloc

// The chunk free() caches per thread (TlsSlot::local_chunk) hits only for
// the allocator and heap it was cached for, whatever the instance ids.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "allocator/per_thread/tls_slot.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

using Heap = PerThreadMalloc<MmapChunkSource>;
using per_thread_internal::next_instance;
using per_thread_internal::tls_slot;

// Makes the next allocator's id `id`, and puts the counter back when the
// test is done with that allocator: ids must not be reused while a slot
// may hold one, and here only the allocator made in between ever has.
class NextInstanceIs {
 public:
  explicit NextInstanceIs(std::uint64_t id) : saved_(next_instance.load()) {
    next_instance.store(id - 1);
  }
  ~NextInstanceIs() { next_instance.store(saved_); }

 private:
  const std::uint64_t saved_;
};

// Binds `heap` on another thread, so the calling thread's slot keeps the
// allocator it had.
void BindElsewhere(Heap& heap) {
  std::thread([&heap] { heap.Deallocate(heap.Allocate(16)); }).join();
}

// An id of kChunkSize or more is never cached; with the whole id in its
// key, one equal to another instance's cached key matched it.
TEST(LocalChunkCacheTest, AnIdPastTheChunkBitsMatchesNoCachedKey) {
  auto a = std::make_unique<Heap>(std::size_t{1} << 30);
  void* p = a->Allocate(64);
  void* q = a->Allocate(64);
  a->Deallocate(p);  // A local free on a miss caches the chunk for `a`.
  const auto chunk = reinterpret_cast<std::uintptr_t>(ChunkOf(q));
  const std::uint64_t id_a = tls_slot.instance;
  ASSERT_EQ(tls_slot.local_chunk, chunk | id_a);
  const NextInstanceIs next(chunk | id_a);
  auto b = std::make_unique<Heap>(std::size_t{1} << 30);
  BindElsewhere(*b);
  EXPECT_EXIT((b->Deallocate(nullptr), std::exit(0)),
              ::testing::ExitedWithCode(0), "");
  EXPECT_DEATH(b->Deallocate(q), "not allocated by this heap");
  b.reset();
  a->Deallocate(q);
}

// The natural case: four million allocators on, an id that differs from a
// live cached one in bit 22 alone, and a chunk whose address has it set.
TEST(LocalChunkCacheTest, AnIdOneChunkSizeOnDoesNotAliasAChunk) {
  auto a = std::make_unique<Heap>(std::size_t{1} << 30);
  std::vector<void*> held;
  void* q = nullptr;
  for (int i = 0; i < 200 && q == nullptr; ++i) {
    held.push_back(a->Allocate(200000));
    if (reinterpret_cast<std::uintptr_t>(ChunkOf(held.back())) & kChunkSize) {
      q = held.back();
    }
  }
  ASSERT_NE(q, nullptr);
  held.push_back(a->Allocate(200000));
  void* cached = nullptr;
  for (void* r : held) {
    if (r != q && ChunkOf(r) == ChunkOf(q)) cached = r;
  }
  ASSERT_NE(cached, nullptr);
  a->Deallocate(cached);
  std::erase(held, cached);
  const std::uint64_t id_a = tls_slot.instance;
  ASSERT_EQ(tls_slot.local_chunk,
            reinterpret_cast<std::uintptr_t>(ChunkOf(q)) | id_a);
  const NextInstanceIs next(kChunkSize + id_a);
  auto b = std::make_unique<Heap>(std::size_t{1} << 30);
  BindElsewhere(*b);
  EXPECT_DEATH(b->Deallocate(q), "not allocated by this heap");
  b.reset();
  for (void* r : held) a->Deallocate(r);
}

}  // namespace
}  // namespace rusty_malloc

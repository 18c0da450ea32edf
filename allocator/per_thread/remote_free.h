#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_REMOTE_FREE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_REMOTE_FREE_H_

#include <atomic>
#include <cstdint>

#include "absl/base/attributes.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/free_block.h"

// Frees into a page of another thread's heap: the page's remote list
// (PageInfo::thread_free), which any thread pushes onto and only the owner
// takes over (CollectRemoteFrees, page.h), and the chains a thread gathers
// before it pushes.
namespace rusty_malloc {

// Links the chain `head`..`tail`, already counted in the page's
// remote_count, onto its remote list with one atomic operation; `tail`'s
// link is set here.
inline void LinkRemote(PageInfo* page, void* head, void* tail,
                       std::uintptr_t key) {
  void* old = page->thread_free.load(std::memory_order_relaxed);
  do {
    per_thread_internal::SetNext(tail, old, key);
  } while (!page->thread_free.compare_exchange_weak(
      old, head, std::memory_order_release, std::memory_order_relaxed));
}

// Pushes the chain `head`..`tail` (`count` blocks of `page`) onto the page's
// remote list with one atomic operation.
inline void PushRemote(PageInfo* page, void* head, void* tail,
                       std::uint32_t count, std::uintptr_t key) {
  // Counted before it is pushed, so the owner, which subtracts what it takes
  // off the list, never takes the count below zero.
  page->remote_count.fetch_add(count, std::memory_order_relaxed);
  LinkRemote(page, head, tail, key);
}

// Chains of blocks one thread freed into other heaps' pages, waiting to go
// over: a chain goes in one push when it holds kBatchMax blocks, when a free
// into another page needs its place among the kBatches chains, or at Flush.
// A page's chain has one place, by the page's address. Only the thread that
// owns it touches it.
class RemoteBatches {
 public:
  // Adds `block`, freed by this thread into `page` of another heap, to the
  // page's chain. The caller has checked it for a double free.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Add(PageInfo* page, void* block,
                                        std::uintptr_t key) {
    Batch& batch = batches_[reinterpret_cast<std::uintptr_t>(page) /
                            sizeof(PageInfo) % kBatches];
    if (batch.page == page) {
      per_thread_internal::SetNext(block, batch.head, key);
      batch.head = block;
    } else {
      if (batch.page != nullptr) Push(batch, key);
      per_thread_internal::SetNext(block, nullptr, key);
      batch = {page, block, block, 0};
    }
    if (++batch.count == kBatchMax) Push(batch, key);
    if (++waiting_ == kFlushEvery) FlushSlow(key);
  }
  // Hands every waiting chain over. The owner runs it on its allocation slow
  // path, purges, statistics, trims and exit, and Add every kFlushEvery
  // frees, so a block waits that long at most while its thread frees, and
  // until the thread next allocates beyond its pages or exits when it stops.
  void Flush(std::uintptr_t key) {
    if (waiting_ != 0) FlushSlow(key);
  }

 private:
  struct Batch {
    PageInfo* page = nullptr;  // nullptr: the place is free.
    void* head = nullptr;
    void* tail = nullptr;
    std::uint32_t count = 0;
  };
  static constexpr int kBatches = 8;
  static constexpr std::uint32_t kBatchMax = 64;
  static constexpr std::uint32_t kFlushEvery = 1024;

  static void Push(Batch& batch, std::uintptr_t key) {
    PushRemote(batch.page, batch.head, batch.tail, batch.count, key);
    batch = {};
  }
  ABSL_ATTRIBUTE_NOINLINE void FlushSlow(std::uintptr_t key) noexcept {
    for (Batch& batch : batches_) {
      if (batch.page != nullptr) Push(batch, key);
    }
    waiting_ = 0;
  }

  Batch batches_[kBatches];
  // Frees added since the last Flush; 0 when no chain waits.
  std::uint32_t waiting_ = 0;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_REMOTE_FREE_H_

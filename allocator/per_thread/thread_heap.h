#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "allocator/common/misuse.h"
#include "allocator/common/planted_bug.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/size_classes.h"

namespace rusty_malloc {

namespace thread_heap_internal {

// A free block's first word links it into its page's list; its second word
// holds a canary mixed from its address, which marks it free, so a second
// free of the same block is caught by one compare.
inline void*& NextOf(void* block) { return *static_cast<void**>(block); }
inline std::uintptr_t& CanaryOf(void* block) {
  return static_cast<std::uintptr_t*>(block)[1];
}
inline std::uintptr_t Canary(const void* block) {
  return (reinterpret_cast<std::uintptr_t>(block) * 0x9e3779b97f4a7c15ULL) ^
         0x72757374796d616cULL;
}

}  // namespace thread_heap_internal

// One thread's heap for small sizes: per size class, a queue of pages of
// that class, the page at the front serving allocations. Everything here is
// touched by the owning thread only, except FreeRemote, which any thread may
// call and which only pushes onto a page's atomic thread_free list; the owner
// takes that list over when it runs out of free blocks.
template <ChunkSource S>
class ThreadHeap {
 public:
  explicit ThreadHeap(S* source) : source_(source) {}
  ThreadHeap(const ThreadHeap&) = delete;
  ThreadHeap& operator=(const ThreadHeap&) = delete;

  // A block of class `cls`, or nullptr when the source has no chunk left.
  // The fast path is a pop from the front page's free list: no lock, no
  // atomic operation.
  void* Allocate(int cls) {
    PageInfo* page = queues_[cls].head;
    if (page != nullptr) {
      void* block = page->free;
      if (block != nullptr) {
        page->free = thread_heap_internal::NextOf(block);
        ++page->used;
        thread_heap_internal::CanaryOf(block) = 0;
        return block;
      }
    }
    return AllocateSlow(cls);
  }

  // Frees `block` of `page`, a page of this heap, on the owning thread.
  void FreeLocal(PageInfo* page, void* block) {
    MarkFree(block);
    const bool was_full = page->free == nullptr;
    thread_heap_internal::NextOf(block) = page->free;
    page->free = block;
    if (--page->used == 0) {
      if (page != queues_[page->size_class].head) RetirePage(page);
    } else if (was_full) {
      // Let the next slow path find it: right behind the front page.
      MoveBehindHead(page);
    }
  }

  // Frees `block` of `page`, a page of another heap; any thread.
  static void FreeRemote(PageInfo* page, void* block) {
    MarkFree(block);
    if (Planted(PlantedBug::kRemoteFreeOnLocalList)) {
      thread_heap_internal::NextOf(block) = page->free;
      page->free = block;
      return;
    }
    void* head = page->thread_free.load(std::memory_order_relaxed);
    do {
      thread_heap_internal::NextOf(block) = head;
    } while (!page->thread_free.compare_exchange_weak(
        head, block, std::memory_order_release, std::memory_order_relaxed));
  }

  // Takes over every remote free and retires pages left empty. For a heap
  // being abandoned or adopted.
  void CollectAll() {
    for (ChunkHeader* chunk = chunks_; chunk != nullptr;) {
      ChunkHeader* next = chunk->next;
      for (int i = 1; i < kPagesPerChunk; ++i) {
        PageInfo* page = &chunk->pages[i];
        if (page->size_class < 0) continue;
        Collect(page);
        // Retiring the chunk's last page in use releases the chunk, and with
        // it the page array this loop walks: stop there.
        if (page->used == 0 && page != queues_[page->size_class].head &&
            RetirePage(page) &&
            !Planted(PlantedBug::kCollectAllWalksReleasedChunk)) {
          break;
        }
      }
      chunk = next;
    }
  }

  ChunkHeader* chunks() const { return chunks_; }
  PageInfo* QueueHead(int cls) const { return queues_[cls].head; }

  // The allocator this heap belongs to, and its links in that allocator's
  // registries; the allocator's lock guards the links.
  void* owner = nullptr;
  ThreadHeap* registry_next = nullptr;
  ThreadHeap* abandoned_next = nullptr;
  bool abandoned = false;

 private:
  struct Queue {
    PageInfo* head = nullptr;
    PageInfo* tail = nullptr;
  };

  // A double free aborts here instead of linking a block into a list twice.
  static void MarkFree(void* block) {
    if (thread_heap_internal::CanaryOf(block) ==
        thread_heap_internal::Canary(block)) {
      ReportMisuse("double free, or use of a freed block", block);
    }
    thread_heap_internal::CanaryOf(block) = thread_heap_internal::Canary(block);
  }

  // Moves `page`'s remote frees onto its free list.
  static void Collect(PageInfo* page) {
    if (page->thread_free.load(std::memory_order_relaxed) == nullptr) return;
    void* list = page->thread_free.exchange(nullptr, std::memory_order_acquire);
    std::uint32_t count = 0;
    void* last = nullptr;
    for (void* b = list; b != nullptr; b = thread_heap_internal::NextOf(b)) {
      last = b;
      ++count;
    }
    thread_heap_internal::NextOf(last) = page->free;
    page->free = list;
    if (Planted(PlantedBug::kCollectForgetsCount)) return;
    page->used -= count;
  }

  void* AllocateSlow(int cls);
  PageInfo* NewPage(int cls);
  // Links up to kExtendBytes more of the page's untouched blocks into its
  // free list; false when none are left.
  static bool Extend(PageInfo* page);
  static constexpr std::size_t kExtendBytes = 4096;
  // Takes `page` out of use; true when that released its chunk to the
  // source, after which nothing in the chunk may be touched.
  bool RetirePage(PageInfo* page);

  void Unlink(PageInfo* page) {
    Queue& q = queues_[page->size_class];
    (page->prev != nullptr ? page->prev->next : q.head) = page->next;
    (page->next != nullptr ? page->next->prev : q.tail) = page->prev;
    page->next = page->prev = nullptr;
  }
  void PushFront(PageInfo* page) {
    Queue& q = queues_[page->size_class];
    page->prev = nullptr;
    page->next = q.head;
    (q.head != nullptr ? q.head->prev : q.tail) = page;
    q.head = page;
  }
  void PushBack(PageInfo* page) {
    Queue& q = queues_[page->size_class];
    page->next = nullptr;
    page->prev = q.tail;
    (q.tail != nullptr ? q.tail->next : q.head) = page;
    q.tail = page;
  }
  void MoveBehindHead(PageInfo* page) {
    Queue& q = queues_[page->size_class];
    if (page == q.head || page->prev == q.head) return;
    Unlink(page);
    page->prev = q.head;
    page->next = q.head->next;
    (q.head->next != nullptr ? q.head->next->prev : q.tail) = page;
    q.head->next = page;
  }

  // How many full pages a slow path looks at before taking a new page.
  static constexpr int kScanLimit = 8;

  S* source_;
  Queue queues_[kSizeClasses];
  ChunkHeader* chunks_ = nullptr;
};

template <ChunkSource S>
void* ThreadHeap<S>::AllocateSlow(int cls) {
  PageInfo* page = queues_[cls].head;
  for (int scanned = 0; page != nullptr && scanned < kScanLimit; ++scanned) {
    PageInfo* next = page->next;
    Collect(page);
    if (page->free != nullptr || Extend(page)) {
      if (page != queues_[cls].head) {
        Unlink(page);
        PushFront(page);
      }
      return Allocate(cls);
    }
    // Full: to the back, so that later scans reach the pages behind it.
    if (next != nullptr) {
      Unlink(page);
      PushBack(page);
    }
    page = next;
  }
  page = NewPage(cls);
  if (page == nullptr) return nullptr;
  PushFront(page);
  return Allocate(cls);
}

template <ChunkSource S>
PageInfo* ThreadHeap<S>::NewPage(int cls) {
  ChunkHeader* chunk = chunks_;
  while (chunk != nullptr && chunk->pages_in_use == kPagesPerChunk - 1) {
    chunk = chunk->next;
  }
  if (chunk == nullptr) {
    void* memory = source_->AllocateChunk();
    if (memory == nullptr) return nullptr;
    chunk = new (memory) ChunkHeader();
    chunk->heap = this;
    chunk->next = chunks_;
    chunks_ = chunk;
  }
  int index = 1;  // Page 0 holds the header.
  while (chunk->pages[index].size_class >= 0) ++index;
  PageInfo* page = &chunk->pages[index];
  const std::size_t block_size = ClassSize(cls);
  page->start = reinterpret_cast<std::byte*>(chunk) + index * kPageSize;
  page->block_size = static_cast<std::uint32_t>(block_size);
  page->capacity = static_cast<std::uint32_t>(kPageSize / block_size);
  page->used = 0;
  page->extended.store(0, std::memory_order_relaxed);
  page->size_class = static_cast<std::int16_t>(cls);
  page->free = nullptr;
  Extend(page);
  ++chunk->pages_in_use;
  return page;
}

template <ChunkSource S>
bool ThreadHeap<S>::Extend(PageInfo* page) {
  const std::uint32_t extended = page->extended.load(std::memory_order_relaxed);
  const std::uint32_t left = page->capacity - extended;
  if (left == 0) return false;
  std::uint32_t count =
      static_cast<std::uint32_t>(kExtendBytes / page->block_size);
  if (count == 0) count = 1;
  if (count > left) count = left;
  void* list = page->free;
  for (std::uint32_t i = extended + count; i-- > extended;) {
    void* block = page->start + std::size_t{i} * page->block_size;
    thread_heap_internal::NextOf(block) = list;
    thread_heap_internal::CanaryOf(block) = thread_heap_internal::Canary(block);
    list = block;
  }
  page->free = list;
  page->extended.store(extended + count, std::memory_order_relaxed);
  return true;
}

template <ChunkSource S>
bool ThreadHeap<S>::RetirePage(PageInfo* page) {
  if (!Planted(PlantedBug::kRetiredPageLeftQueued)) Unlink(page);
  page->size_class = -1;
  page->free = nullptr;
  ChunkHeader* chunk = ChunkOf(page->start);
  constexpr int kLeft = Planted(PlantedBug::kChunkReleasedInUse) ? 1 : 0;
  if (--chunk->pages_in_use > kLeft) return false;
  // An empty chunk goes back to the source (and its memory to the OS),
  // unless it is the heap's only one: keep that for the next allocation.
  if (chunks_ == chunk && chunk->next == nullptr) return false;
  ChunkHeader** link = &chunks_;
  while (*link != chunk) link = &(*link)->next;
  *link = chunk->next;
  chunk->~ChunkHeader();
  source_->ReleaseChunk(chunk);
  return true;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_H_

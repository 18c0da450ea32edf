#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_H_

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

#include "absl/base/const_init.h"
#include "absl/base/internal/spinlock.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/misuse.h"
#include "allocator/common/realloc_by_moving.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/thread_heap.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc {

namespace per_thread_internal {

// The calling thread's heap of the allocator it used last. One slot for all
// instances keeps the fast path to one TLS load and one compare; a thread
// switching between instances finds its heap through pthread_getspecific.
struct TlsSlot {
  std::uint64_t instance = 0;
  void* heap = nullptr;
};
inline thread_local TlsSlot tls_slot __attribute__((tls_model("initial-exec")));
inline std::atomic<std::uint64_t> next_instance{0};

}  // namespace per_thread_internal

// The allocator the original crate's author wished for: every thread owns
// its heap, built from chunks scattered over the address space instead of
// one contiguous buffer. Small sizes (up to kSmallMax) come from the calling
// thread's pages: allocation and same-thread free take no lock and no atomic
// read-modify-write; a free from another thread is an atomic push onto the
// page's remote list, which the owner takes over later. A thread's heap
// outlives the thread: the next thread to start adopts it. Larger sizes, and
// alignments no small class provides, go to a segregated-fit RustyMalloc,
// the original design's heap.
//
// Same interface as RawMalloc and RustyMalloc.
template <ChunkSource S = MmapChunkSource>
class PerThreadMalloc {
 public:
  using Medium = RustyMalloc<MmapGrower, SegregatedFreeList>;

  // `args` construct the chunk source. Touches nothing until first use, so
  // the allocator can be a constinit global.
  template <typename... Args>
  constexpr explicit PerThreadMalloc(Args&&... args)
      : source_(std::forward<Args>(args)...),
        medium_(MmapGrower(std::size_t{64} << 30, 1 << 20), MediumOptions()),
        lock_(absl::kConstInit, absl::base_internal::SCHEDULE_KERNEL_ONLY) {}
  PerThreadMalloc(const PerThreadMalloc&) = delete;
  PerThreadMalloc& operator=(const PerThreadMalloc&) = delete;
  // For local instances: every thread that used it must be done with it.
  ~PerThreadMalloc();

  void* Allocate(std::size_t size, std::size_t align = kGranule) {
    if (size <= kSmallMax && align <= kGranule && IsValidAlignment(align)) {
      return MyHeap()->Allocate(SizeClassOf(size));
    }
    return AllocateOther(size, align);
  }

  void Deallocate(void* ptr) {
    if (ptr == nullptr) return;
    if (!source_.Contains(ptr)) return medium_.Deallocate(ptr);
    PageInfo* page = CheckedSmallBlock(ptr);
    ThreadHeap<S>* mine = CachedHeap();
    if (ChunkOf(ptr)->heap == mine) {
      mine->FreeLocal(page, ptr);
    } else {
      ThreadHeap<S>::FreeRemote(page, ptr);
    }
  }

  void* Reallocate(void* ptr, std::size_t size, std::size_t align = kGranule);
  std::size_t UsableSize(void* ptr) {
    if (!source_.Contains(ptr)) return medium_.UsableSize(ptr);
    return CheckedSmallBlock(ptr)->block_size;
  }
  bool IsLiveBlock(const void* ptr) {
    if (!source_.Contains(ptr)) return medium_.IsLiveBlock(ptr);
    const PageInfo* page = PageOf(ptr);
    return page->size_class >= 0 && OnBlockBoundary(page, ptr) &&
           thread_heap_internal::CanaryOf(const_cast<void*>(ptr)) !=
               thread_heap_internal::Canary(ptr);
  }

  // Walks every heap's chunks and pages, and the medium heap, and names the
  // first broken invariant. Only meaningful while no other thread allocates
  // or frees (e.g. after joining them).
  HeapReport Verify();
  // Also for quiescent moments. heap_bytes counts whole chunks.
  HeapStats Stats();
  // How many thread heaps exist (live and abandoned): a measure of adoption.
  std::size_t HeapCount() {
    absl::base_internal::SpinLockHolder hold(&lock_);
    return heap_count_;
  }

  void LockForFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    lock_.Lock();
    source_.LockForFork();
    medium_.LockForFork();
  }
  void UnlockAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    medium_.UnlockAfterFork();
    source_.UnlockAfterFork();
    lock_.Unlock();
  }
  // In the child: the heaps of threads that were running when the parent
  // forked may have been halfway through a change, and their threads do not
  // exist here. They become orphans: never adopted, verified or counted;
  // frees into them still work (remote frees are atomic pushes).
  void UnlockAfterForkInChild() ABSL_NO_THREAD_SAFETY_ANALYSIS;

  S& source() { return source_; }

 private:
  // Blocks here are 32 KiB to megabytes: trimming at RawMalloc's default
  // 1 MiB would shrink and regrow the heap (two syscalls, under the lock)
  // on every few large frees.
  static constexpr RawMallocOptions MediumOptions() {
    RawMallocOptions options;
    options.trim_threshold = std::size_t{32} << 20;
    options.top_pad = std::size_t{8} << 20;
    return options;
  }

  ThreadHeap<S>* MyHeap() {
    const per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
    if (slot.instance == id_.load(std::memory_order_relaxed) &&
        slot.heap != nullptr) {
      return static_cast<ThreadHeap<S>*>(slot.heap);
    }
    return MyHeapSlow();
  }
  // The calling thread's heap if it has one, without creating it.
  ThreadHeap<S>* CachedHeap() {
    const per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
    if (slot.instance == id_.load(std::memory_order_relaxed)) {
      return static_cast<ThreadHeap<S>*>(slot.heap);
    }
    if (id_.load(std::memory_order_acquire) == 0) return nullptr;
    return static_cast<ThreadHeap<S>*>(pthread_getspecific(key_));
  }
  ThreadHeap<S>* MyHeapSlow();
  static void AbandonAtThreadExit(void* heap);
  void* AllocateOther(std::size_t size, std::size_t align);

  static bool OnBlockBoundary(const PageInfo* page, const void* ptr) {
    const auto offset = static_cast<std::size_t>(
        static_cast<const std::byte*>(ptr) - page->start);
    const std::uint32_t extended =
        page->extended.load(std::memory_order_relaxed);
    return offset < extended * std::size_t{page->block_size} &&
           offset % page->block_size == 0;
  }
  PageInfo* CheckedSmallBlock(void* ptr) {
    PageInfo* page = PageOf(ptr);
    if (page->size_class < 0 || !OnBlockBoundary(page, ptr)) {
      ReportMisuse("pointer is not a block of this heap", ptr);
    }
    return page;
  }

  S source_;
  Medium medium_;
  absl::base_internal::SpinLock lock_;  // Guards everything below.
  std::atomic<std::uint64_t> id_{0};
  pthread_key_t key_{};
  ThreadHeap<S>* heaps_ = nullptr;      // Every heap, for Verify and Stats.
  ThreadHeap<S>* abandoned_ = nullptr;  // Heaps whose thread exited.
  ThreadHeap<S>* orphans_ = nullptr;    // Left behind by fork().
  std::size_t heap_count_ = 0;
};

template <ChunkSource S>
ThreadHeap<S>* PerThreadMalloc<S>::MyHeapSlow() {
  ThreadHeap<S>* heap = nullptr;
  bool adopted = false;
  {
    absl::base_internal::SpinLockHolder hold(&lock_);
    if (id_.load(std::memory_order_relaxed) == 0) {
      // pthread_key_create takes no memory from malloc in glibc.
      if (pthread_key_create(&key_, &AbandonAtThreadExit) != 0) {
        ReportMisuse("cannot create a thread key for the per-thread heaps",
                     this);
      }
      id_.store(per_thread_internal::next_instance.fetch_add(1) + 1,
                std::memory_order_release);
    } else {
      heap = static_cast<ThreadHeap<S>*>(pthread_getspecific(key_));
    }
    if (heap == nullptr && abandoned_ != nullptr) {
      heap = abandoned_;
      abandoned_ = heap->abandoned_next;
      heap->abandoned = false;
      adopted = true;
    }
    if (heap == nullptr) {
      // Heaps come straight from the OS: this is malloc's own bookkeeping.
      void* memory =
          mmap(nullptr, sizeof(ThreadHeap<S>), PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (memory == MAP_FAILED) {
        ReportMisuse("out of memory for a thread heap", this);
      }
      heap = new (memory) ThreadHeap<S>(&source_);
      heap->owner = this;
      heap->registry_next = heaps_;
      heaps_ = heap;
      ++heap_count_;
    }
  }
  // Set the cache first: pthread_setspecific may itself call malloc.
  per_thread_internal::tls_slot = {id_.load(std::memory_order_relaxed), heap};
  pthread_setspecific(key_, heap);
  if (adopted) heap->CollectAll();
  return heap;
}

template <ChunkSource S>
void PerThreadMalloc<S>::AbandonAtThreadExit(void* arg) {
  auto* heap = static_cast<ThreadHeap<S>*>(arg);
  auto* self = static_cast<PerThreadMalloc*>(heap->owner);
  heap->CollectAll();
  per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
  if (slot.heap == heap) slot = {};
  absl::base_internal::SpinLockHolder hold(&self->lock_);
  heap->abandoned = true;
  heap->abandoned_next = self->abandoned_;
  self->abandoned_ = heap;
}

template <ChunkSource S>
void PerThreadMalloc<S>::UnlockAfterForkInChild() {
  ThreadHeap<S>* const mine = CachedHeap();
  ThreadHeap<S>* kept = nullptr;
  for (ThreadHeap<S>* heap = heaps_; heap != nullptr;) {
    ThreadHeap<S>* next = heap->registry_next;
    ThreadHeap<S>** list = heap == mine || heap->abandoned ? &kept : &orphans_;
    heap->registry_next = *list;
    *list = heap;
    heap = next;
  }
  heaps_ = kept;
  UnlockAfterFork();
}

template <ChunkSource S>
void* PerThreadMalloc<S>::AllocateOther(std::size_t size, std::size_t align) {
  if (!IsValidAlignment(align)) return nullptr;
  // A power-of-two class at least `align` is aligned to it: pages are
  // 64 KiB-aligned and blocks sit at multiples of their size.
  if (align > kGranule && size <= kSmallMax && align <= kSmallMax) {
    const std::size_t block = std::bit_ceil(std::max(size, align));
    if (block <= kSmallMax) return MyHeap()->Allocate(SizeClassOf(block));
  }
  return medium_.Allocate(size, align);
}

template <ChunkSource S>
void* PerThreadMalloc<S>::Reallocate(void* ptr, std::size_t size,
                                     std::size_t align) {
  if (ptr == nullptr) return Allocate(size, align);
  if (!IsValidAlignment(align)) return nullptr;
  const bool aligned = reinterpret_cast<std::uintptr_t>(ptr) % align == 0;
  std::size_t old_usable;
  if (source_.Contains(ptr)) {
    const PageInfo* page = CheckedSmallBlock(ptr);
    old_usable = page->block_size;
    // Stay while the block fits and is not more than half empty.
    if (aligned && size <= old_usable &&
        (size > old_usable / 2 || page->size_class == 0)) {
      return ptr;
    }
  } else {
    const bool stays_medium = size > kSmallMax || align > kSmallMax;
    if (stays_medium) return medium_.Reallocate(ptr, size, align);
    old_usable = medium_.UsableSize(ptr);
  }
  return ReallocByMoving(*this, ptr, old_usable, size, align);
}

template <ChunkSource S>
HeapReport PerThreadMalloc<S>::Verify() {
  absl::base_internal::SpinLockHolder hold(&lock_);
  for (ThreadHeap<S>* heap = heaps_; heap != nullptr;
       heap = heap->registry_next) {
    std::size_t pages_seen = 0;
    for (ChunkHeader* chunk = heap->chunks(); chunk != nullptr;
         chunk = chunk->next) {
      if (chunk->heap != heap) return {"chunk names another heap", chunk};
      if (!source_.Contains(chunk)) {
        return {"chunk does not come from the chunk source", chunk};
      }
      int in_use = 0;
      for (int i = 1; i < kPagesPerChunk; ++i) {
        PageInfo& page = chunk->pages[i];
        if (page.size_class < 0) continue;
        ++in_use;
        ++pages_seen;
        if (page.start != reinterpret_cast<std::byte*>(chunk) + i * kPageSize ||
            page.size_class >= kSizeClasses ||
            page.block_size != ClassSize(page.size_class) ||
            page.capacity != kPageSize / page.block_size) {
          return {"page descriptor is inconsistent", &page};
        }
        // Every free block once, inside the page, on a block boundary.
        // Blocks on the remote list still count as used until collected.
        std::uint64_t seen[kPageSize / 16 / 64] = {};
        std::uint32_t counts[2] = {};
        void* const lists[2] = {page.free, page.thread_free.load()};
        for (int l = 0; l < 2; ++l) {
          for (void* b = lists[l]; b != nullptr;
               b = thread_heap_internal::NextOf(b)) {
            if (!OnBlockBoundary(&page, b)) {
              return {
                  "free list links to something that is not a block of "
                  "its page",
                  b};
            }
            const std::size_t index =
                static_cast<std::size_t>(static_cast<std::byte*>(b) -
                                         page.start) /
                page.block_size;
            if (seen[index / 64] >> (index % 64) & 1) {
              return {
                  "free list holds a block twice (a cycle or a double "
                  "free)",
                  b};
            }
            seen[index / 64] |= std::uint64_t{1} << (index % 64);
            ++counts[l];
          }
        }
        const std::uint32_t extended = page.extended.load();
        if (extended > page.capacity || counts[0] + page.used != extended ||
            counts[1] > page.used) {
          return {"page's free and used blocks do not add up to its capacity",
                  &page};
        }
      }
      if (in_use != chunk->pages_in_use) {
        return {"chunk's count of pages in use is wrong", chunk};
      }
    }
    std::size_t queued = 0;
    for (int cls = 0; cls < kSizeClasses; ++cls) {
      for (PageInfo* p = heap->QueueHead(cls); p != nullptr; p = p->next) {
        if (p->size_class != cls || ++queued > pages_seen) {
          return {"page queue holds a page of another class, or loops", p};
        }
      }
    }
    if (queued != pages_seen) {
      return {"a page in use is missing from its heap's queue", heap};
    }
  }
  return medium_.Verify();
}

template <ChunkSource S>
HeapStats PerThreadMalloc<S>::Stats() {
  HeapStats stats = medium_.Stats();
  absl::base_internal::SpinLockHolder hold(&lock_);
  for (ThreadHeap<S>* heap = heaps_; heap != nullptr;
       heap = heap->registry_next) {
    for (ChunkHeader* chunk = heap->chunks(); chunk != nullptr;
         chunk = chunk->next) {
      stats.heap_bytes += kChunkSize;
      std::size_t accounted = 0;
      for (const PageInfo& page : chunk->pages) {
        if (page.size_class < 0) continue;
        std::uint32_t remote = 0;
        for (void* b = page.thread_free.load(); b != nullptr;
             b = thread_heap_internal::NextOf(b)) {
          ++remote;
        }
        const std::size_t allocated = page.used - remote;
        stats.allocated_blocks += allocated;
        stats.allocated_bytes += allocated * page.block_size;
        const std::size_t free_blocks = page.capacity - allocated;
        stats.free_blocks += free_blocks;
        stats.free_bytes += free_blocks * page.block_size;
        if (free_blocks > 0) {
          stats.largest_free_block =
              std::max<std::size_t>(stats.largest_free_block, page.block_size);
        }
        accounted += std::size_t{page.capacity} * page.block_size;
      }
      stats.overhead_bytes += kChunkSize - accounted;
    }
  }
  return stats;
}

template <ChunkSource S>
PerThreadMalloc<S>::~PerThreadMalloc() {
  if (id_.load() == 0) return;
  per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
  if (slot.instance == id_.load()) slot = {};
  pthread_setspecific(key_, nullptr);
  pthread_key_delete(key_);
  for (ThreadHeap<S>* list : {heaps_, orphans_}) {
    for (ThreadHeap<S>* heap = list; heap != nullptr;) {
      ThreadHeap<S>* next = heap->registry_next;
      heap->~ThreadHeap();
      munmap(heap, sizeof(ThreadHeap<S>));
      heap = next;
    }
  }
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_H_

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/config.h"

// The per-thread allocator's words, from the largest unit down:
//   region      address space a chunk source reserves at once, handed out
//               chunk by chunk (MmapChunkSource).
//   chunk       kChunkSize (4 MiB), aligned to its size; a thread heap's
//               unit of growth. Released, it goes back to its source.
//   page        kPageSize (64 KiB), a chunk's 64th, described by a
//               PageInfo in the chunk's header (page 0). Not the OS page.
//   span        consecutive pages holding blocks above half a page,
//               described by its first page's PageInfo.
//   block       what malloc hands out: one slot of a page's or a span's
//               size class.
//   OS page     the kernel's page, OsPageSize() (4 KiB on x86-64; kOsPage
//               the smallest), allocator/common/os_memory.h: what madvise
//               and mincore work in. A page is many OS pages.
//   dirty       a page not in use whose memory may still be committed.
//   purge       giving the memory of dirty pages and released chunks back
//               to the OS (decommit, MADV_DONTNEED), keeping the addresses.

namespace rusty_malloc {

// The per-thread allocator's memory comes in chunks of kChunkSize, aligned to
// kChunkSize, so the header of the chunk holding any block is found by
// masking the block's address: no lookup table, no lock. A chunk is split
// into kPagesPerChunk pages; page 0 holds the header, the others hold blocks
// of one size class each, alone or, for blocks above half a page, as a span
// of consecutive pages described by its first page's PageInfo.
inline constexpr int kChunkShift = 22;
inline constexpr std::size_t kChunkSize = std::size_t{1} << kChunkShift;
inline constexpr int kPageShift = 16;
inline constexpr std::size_t kPageSize = std::size_t{1} << kPageShift;
inline constexpr int kPagesPerChunk = static_cast<int>(kChunkSize / kPageSize);

// PageInfo::size_class of a page not in use, and of a span's page after its
// first.
inline constexpr std::int16_t kPageUnused = -1;
inline constexpr std::int16_t kPageContinues = -2;

// A page's bookkeeping, kept in its chunk's header. The remote list has a
// cache line of its own: other threads write it on every remote free, the
// owner writes the rest on every allocation, and sharing one line would make
// each of those a cache miss for the other side.
struct PageInfo {
  alignas(64) std::atomic<void*> thread_free{nullptr};  // Freed by others.
  // Blocks on thread_free, or about to be pushed there: statistics subtract
  // them from `used` without following the list. On thread_free's line,
  // which a remote free holds exclusively anyway.
  std::atomic<std::uint32_t> remote_count{0};
  alignas(64) void* free = nullptr;  // To allocate from; the owner's only.
  std::byte* start = nullptr;
  std::uint32_t block_size = 0;
  std::uint32_t capacity = 0;
  std::uint64_t block_magic = 0;  // DivisibilityMagic(block_size).
  // Bytes from `start` linked into use so far; the rest of the page is
  // untouched, so a fresh page costs memory only as it fills. Zero on a page
  // not in use and on a span's later pages, so free()'s one range check also
  // sends those to its slow path. Atomic (relaxed) because a remote free
  // reads it to check its pointer while the owner may extend the page: the
  // freed block was handed over after it was linked, so even a relaxed load
  // sees a value that covers it.
  std::atomic<std::uint32_t> linked_bytes{0};
  // Blocks handed out and not yet back on `free` (those on thread_free still
  // count until the owner collects them), plus kFrontBias while the page is
  // at its queue's front: a free that empties the front page (a program
  // freeing what it just allocated) then finds no zero, and needs no
  // second test. InUse() strips it. Statistics read it: see OwnerStore.
  std::uint32_t used = 0;
  // kPageUnused, kPageContinues (a span's page after its first), or the
  // class of the page's blocks. Statistics read it: see OwnerStore.
  std::int16_t size_class = kPageUnused;
  std::uint8_t span_pages = 0;  // Pages the span covers, on its first page.
  // On a page that continues a span: how far back its first page is. Zero
  // otherwise. Read by any freeing thread (SpanOf) and written when a span
  // starts or stops, by the owner or a reclaim: see OwnerStore.
  std::uint8_t span_back = 0;
  PageInfo* next = nullptr;  // The owner's queue for this size class.
  PageInfo* prev = nullptr;
};

inline constexpr std::uint32_t kFrontBias = std::uint32_t{1} << 31;
// The blocks a PageInfo::used value counts.
inline constexpr std::uint32_t InUse(std::uint32_t used) {
  return used & (kFrontBias - 1);
}

// PageInfo::used and size_class are written by the owning thread (and by a
// thread reclaiming the page of an idle heap, ThreadHeap::ReclaimIfIdle),
// and read by statistics on any thread (AddChunkStats, page.h). Every write
// is a relaxed atomic store so that those reads are not data races; the
// owner's reads under its heap's lock stay plain. On x86 a relaxed store is
// a plain store.
template <typename T>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void OwnerStore(T& field, T value) {
  std::atomic_ref<T>(field).store(value, std::memory_order_relaxed);
}
// What OwnerStore wrote, from any thread.
template <typename T>
inline T SharedLoad(const T& field) {
  return std::atomic_ref<T>(const_cast<T&>(field))
      .load(std::memory_order_relaxed);
}
// Adds `delta` to a counter written only by its owner and read by others
// as OwnerStore's fields are; true when the result is zero. On x86-64 one
// unlocked read-modify-write instruction: its load and its store are each
// single aligned accesses, just what the relaxed load and store it stands
// for compile to, and nobody else writes the field while the owner may add
// to it (ThreadHeap::ReclaimIfIdle stores to `used` only when the owner
// holds none of the page's blocks). Under ThreadSanitizer
// and AddressSanitizer, which cannot see into asm, and elsewhere, the
// relaxed store itself.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool OwnerAdd(std::uint32_t& field,
                                                  std::uint32_t delta) {
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__) &&                   \
    !ABSL_HAVE_FEATURE(thread_sanitizer) && !defined(__SANITIZE_ADDRESS__) && \
    !ABSL_HAVE_FEATURE(address_sanitizer)
  bool zero;
  asm("addl %2, %0" : "+m"(field), "=@ccz"(zero) : "ir"(delta));
  return zero;
#else
  const std::uint32_t value = SharedLoad(field) + delta;
  OwnerStore(field, value);
  return value == 0;
#endif
}

struct ChunkHeader {
  void* heap = nullptr;  // The owning thread heap; read by any freeing thread.
  // The owning heap's tag (ThreadHeap::tag()): unique for the process's
  // life, so a thread's free compares it with its TLS slot's and knows the
  // block is its own, with no check of which allocator the slot is for.
  std::uint64_t owner_tag = 0;
  ChunkHeader* next = nullptr;  // In the owner's chunk list.
  // Bit i: page i is in use, alone or in a span. Page 0 is the header's.
  std::uint64_t used_pages = 1;
  // Bit i: page i is not in use but its memory may still be committed; a
  // purge gives it back to the OS.
  std::uint64_t dirty_unused = 0;
  PageInfo pages[kPagesPerChunk];
};

static_assert(sizeof(ChunkHeader) <= kPageSize);
static_assert(kPagesPerChunk == 64, "used_pages has a bit per page");

inline ChunkHeader* ChunkOf(const void* p) {
  return reinterpret_cast<ChunkHeader*>(reinterpret_cast<std::uintptr_t>(p) &
                                        ~(kChunkSize - 1));
}

inline PageInfo* PageOf(const void* p) {
  const auto index = (reinterpret_cast<std::uintptr_t>(p) >> kPageShift) &
                     (kPagesPerChunk - 1);
  return &ChunkOf(p)->pages[index];
}

// The PageInfo describing the blocks at `p`: its page's, or the span's first
// page's. Branch-free (span_back is zero outside spans).
inline PageInfo* SpanOf(const void* p) {
  PageInfo* page = PageOf(p);
  return page - SharedLoad(page->span_back);
}

// The first page of a run of `pages` unused pages in a chunk whose pages in
// use are `used_pages`, or -1.
inline int FindUnusedRun(std::uint64_t used_pages, int pages) {
  std::uint64_t starts = ~used_pages;
  for (int k = 1; k < pages; ++k) starts &= ~used_pages >> k;
  return starts == 0 ? -1 : std::countr_zero(starts);
}

// The bits of `pages` pages from page `first`.
inline std::uint64_t PageRunMask(int first, int pages) {
  const std::uint64_t run =
      pages == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << pages) - 1;
  return run << first;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_H_

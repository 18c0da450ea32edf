#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace rusty_malloc {

// The per-thread allocator's memory comes in chunks of kChunkSize, aligned to
// kChunkSize, so the header of the chunk holding any block is found by
// masking the block's address: no lookup table, no lock. A chunk is split
// into kPagesPerChunk pages; page 0 holds the header, the others hold blocks
// of one size class each.
inline constexpr int kChunkShift = 22;
inline constexpr std::size_t kChunkSize = std::size_t{1} << kChunkShift;
inline constexpr int kPageShift = 16;
inline constexpr std::size_t kPageSize = std::size_t{1} << kPageShift;
inline constexpr int kPagesPerChunk = static_cast<int>(kChunkSize / kPageSize);

// A page's bookkeeping, kept in its chunk's header. The remote list has a
// cache line of its own: other threads write it on every remote free, the
// owner writes the rest on every allocation, and sharing one line would make
// each of those a cache miss for the other side.
struct PageInfo {
  alignas(64) std::atomic<void*> thread_free{nullptr};  // Freed by others.
  alignas(64) void* free = nullptr;  // To allocate from; the owner's only.
  std::byte* start = nullptr;
  std::uint32_t block_size = 0;
  std::uint32_t capacity = 0;
  // Blocks linked into use so far; the rest of the page is untouched, so a
  // fresh page costs memory only as it fills. Atomic (relaxed) because a
  // remote free reads it to check its pointer while the owner may extend
  // the page: the freed block was handed over after it was extended into
  // use, so even a relaxed load sees a value that covers it.
  std::atomic<std::uint32_t> extended{0};
  // Blocks handed out and not yet back on `free` (those on thread_free still
  // count until the owner collects them).
  std::uint32_t used = 0;
  std::int16_t size_class = -1;  // -1 while the page is not in use.
  PageInfo* next = nullptr;      // The owner's queue for this size class.
  PageInfo* prev = nullptr;
};

struct ChunkHeader {
  void* heap = nullptr;  // The owning thread heap; read by any freeing thread.
  ChunkHeader* next = nullptr;  // In the owner's chunk list.
  int pages_in_use = 0;
  PageInfo pages[kPagesPerChunk];
};

static_assert(sizeof(ChunkHeader) <= kPageSize);

inline ChunkHeader* ChunkOf(const void* p) {
  return reinterpret_cast<ChunkHeader*>(reinterpret_cast<std::uintptr_t>(p) &
                                        ~(kChunkSize - 1));
}

inline PageInfo* PageOf(const void* p) {
  const auto index = (reinterpret_cast<std::uintptr_t>(p) >> kPageShift) &
                     (kPagesPerChunk - 1);
  return &ChunkOf(p)->pages[index];
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_MAP_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_MAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "allocator/per_thread/chunk.h"

namespace rusty_malloc {

// Which kChunkSize-aligned ranges of the address space are chunks a source
// handed out: a two-level radix map over a 48-bit user address space, so
// that "is this pointer ours" is two dependent loads and no lock, however
// many regions the source reserves, wherever the kernel puts them. A leaf
// (one byte per chunk, 16 GiB of address space per 4 KiB leaf) is mapped
// when a region is reserved in its range (Prepare), so that marking a chunk
// as it is handed out cannot fail. Marks are never cleared: a chunk stays
// the source's until the source is destroyed.
class ChunkMap {
 public:
  constexpr ChunkMap() = default;
  ChunkMap(const ChunkMap&) = delete;
  ChunkMap& operator=(const ChunkMap&) = delete;
  ~ChunkMap();

  // Maps the leaves for the `chunks` chunks from `first` (kChunkSize-
  // aligned); false when one could not be mapped. Callers serialise Prepare
  // and Mark; Contains may run at the same time from any thread.
  [[nodiscard]] bool Prepare(std::uintptr_t first, std::size_t chunks);
  // Marks `chunk`, in a prepared range, as ours. Before the chunk is
  // readable it must not be marked: Contains answering yes lets callers
  // read the chunk's header.
  void Mark(std::uintptr_t chunk);

  [[nodiscard]] bool Contains(const void* p) const {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t top = at >> kLeafShift;
    // Acquire: the table's and a leaf's entries were written before they
    // were published.
    const std::atomic<Leaf*>* table = top_.load(std::memory_order_acquire);
    if (top >= kTopEntries || table == nullptr) return false;
    const Leaf* leaf = table[top].load(std::memory_order_acquire);
    return leaf != nullptr &&
           leaf->chunks[(at >> kChunkShift) & (kLeafChunks - 1)].load(
               std::memory_order_relaxed) != 0;
  }

  // Calls visit(chunk) for every marked chunk, in address order.
  template <typename Visit>
  void ForEachChunk(Visit visit) const {
    const std::atomic<Leaf*>* table = top_.load(std::memory_order_acquire);
    for (std::size_t top = 0; table != nullptr && top < kTopEntries; ++top) {
      const Leaf* leaf = table[top].load(std::memory_order_acquire);
      if (leaf == nullptr) continue;
      for (std::size_t i = 0; i < kLeafChunks; ++i) {
        if (leaf->chunks[i].load(std::memory_order_relaxed) == 0) continue;
        visit((top << kLeafShift) + (i << kChunkShift));
      }
    }
  }

 private:
  static constexpr int kAddressBits = 48;
  static constexpr int kLeafBits = 12;
  static constexpr int kLeafShift = kChunkShift + kLeafBits;
  static constexpr std::size_t kLeafChunks = std::size_t{1} << kLeafBits;
  static constexpr std::size_t kTopEntries = std::size_t{1}
                                             << (kAddressBits - kLeafShift);
  struct Leaf {
    std::atomic<std::uint8_t> chunks[kLeafChunks];
  };

  [[nodiscard]] Leaf* LeafFor(std::uintptr_t at);

  // kTopEntries entries (128 KiB), mapped by the first Prepare: inline, the
  // drop-in's map would sit in its data segment, where the kernel maps it
  // resident around the first access to its neighbours (136 KiB of every
  // process's memory).
  std::atomic<std::atomic<Leaf*>*> top_{nullptr};
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_MAP_H_

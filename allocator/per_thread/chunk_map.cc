#include "allocator/per_thread/chunk_map.h"

#include "allocator/common/check.h"
#include "allocator/common/os_memory.h"

namespace rusty_malloc {

ChunkMap::~ChunkMap() {
  std::atomic<Leaf*>* table = top_.load(std::memory_order_relaxed);
  if (table == nullptr) return;
  for (std::size_t top = 0; top < kTopEntries; ++top) {
    Leaf* leaf = table[top].load(std::memory_order_relaxed);
    if (leaf != nullptr) Unmap(leaf, sizeof(Leaf));
  }
  Unmap(table, kTopEntries * sizeof(std::atomic<Leaf*>));
}

ChunkMap::Leaf* ChunkMap::LeafFor(std::uintptr_t at) {
  std::atomic<Leaf*>& entry =
      top_.load(std::memory_order_relaxed)[at >> kLeafShift];
  Leaf* leaf = entry.load(std::memory_order_relaxed);
  if (leaf != nullptr) return leaf;
  // Zero from the kernel: every chunk unmarked.
  return static_cast<Leaf*>(Map(sizeof(Leaf)));
}

bool ChunkMap::Prepare(std::uintptr_t first, std::size_t chunks) {
  const std::uintptr_t end = first + chunks * kChunkSize;
  if (end >> kAddressBits != 0 || end <= first) return false;
  std::atomic<Leaf*>* table = top_.load(std::memory_order_relaxed);
  if (table == nullptr) {
    void* room = Map(kTopEntries * sizeof(std::atomic<Leaf*>));
    if (room == nullptr) return false;
    // Zero from the kernel: no leaf yet.
    table = static_cast<std::atomic<Leaf*>*>(room);
    top_.store(table, std::memory_order_release);
  }
  for (std::size_t top = first >> kLeafShift;
       top <= (end - kChunkSize) >> kLeafShift; ++top) {
    Leaf* leaf = LeafFor(top << kLeafShift);
    if (leaf == nullptr) return false;
    // An unused leaf published early costs 4 KiB and answers "no".
    table[top].store(leaf, std::memory_order_release);
  }
  return true;
}

void ChunkMap::Mark(std::uintptr_t chunk) {
  const std::atomic<Leaf*>* table = top_.load(std::memory_order_relaxed);
  RUSTY_MALLOC_CHECK(table != nullptr, reinterpret_cast<void*>(chunk));
  Leaf* leaf = table[chunk >> kLeafShift].load(std::memory_order_relaxed);
  RUSTY_MALLOC_CHECK(leaf != nullptr, reinterpret_cast<void*>(chunk));
  leaf->chunks[(chunk >> kChunkShift) & (kLeafChunks - 1)].store(
      1, std::memory_order_relaxed);
}

}  // namespace rusty_malloc

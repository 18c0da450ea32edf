#include "allocator/per_thread/chunk_map.h"

#include <sys/mman.h>

namespace rusty_malloc {

ChunkMap::~ChunkMap() {
  for (std::atomic<Leaf*>& entry : top_) {
    Leaf* leaf = entry.load(std::memory_order_relaxed);
    if (leaf != nullptr) munmap(leaf, sizeof(Leaf));
  }
}

ChunkMap::Leaf* ChunkMap::LeafFor(std::uintptr_t at) {
  std::atomic<Leaf*>& entry = top_[at >> kLeafShift];
  Leaf* leaf = entry.load(std::memory_order_relaxed);
  if (leaf != nullptr) return leaf;
  void* room = mmap(nullptr, sizeof(Leaf), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (room == MAP_FAILED) return nullptr;
  // Zero from the kernel: every chunk unmarked. Published by Mark, after
  // its marks.
  return static_cast<Leaf*>(room);
}

bool ChunkMap::Mark(std::uintptr_t first, std::size_t chunks) {
  const std::uintptr_t end = first + chunks * kChunkSize;
  if (end >> kAddressBits != 0 || end < first) return false;
  // Map every leaf the range needs before marking any chunk, so a failure
  // leaves nothing half-marked.
  Leaf* leaves[2] = {nullptr, nullptr};
  const std::uintptr_t last = end - kChunkSize;
  const std::size_t first_top = first >> kLeafShift;
  const std::size_t last_top = last >> kLeafShift;
  // A region spans at most two leaves (it is far smaller than 16 GiB).
  if (last_top - first_top > 1) return false;
  for (std::size_t top = first_top; top <= last_top; ++top) {
    leaves[top - first_top] = LeafFor(top << kLeafShift);
    if (leaves[top - first_top] == nullptr) {
      if (top != first_top &&
          top_[first_top].load(std::memory_order_relaxed) == nullptr) {
        munmap(leaves[0], sizeof(Leaf));
      }
      return false;
    }
  }
  for (std::uintptr_t at = first; at < end; at += kChunkSize) {
    Leaf* leaf = leaves[(at >> kLeafShift) - first_top];
    leaf->chunks[(at >> kChunkShift) & (kLeafChunks - 1)].store(
        1, std::memory_order_relaxed);
  }
  for (std::size_t top = first_top; top <= last_top; ++top) {
    top_[top].store(leaves[top - first_top], std::memory_order_release);
  }
  return true;
}

}  // namespace rusty_malloc

#include "allocator/per_thread/page.h"

#include <algorithm>

#include "allocator/common/resident.h"

namespace rusty_malloc {

using per_thread_internal::NextOf;

HeapReport VerifyPage(const PageInfo& page, const std::byte* start) {
  if (page.start != start || page.size_class >= kSizeClasses ||
      page.block_size != ClassSize(page.size_class) ||
      page.block_magic != DivisibilityMagic(page.block_size) ||
      page.span_pages != SpanPagesOf(page.size_class) || page.span_back != 0 ||
      page.capacity != page.span_pages * kPageSize / page.block_size) {
    return {"page descriptor is inconsistent", &page};
  }
  for (int k = 1; k < page.span_pages; ++k) {
    if ((&page)[k].size_class != kPageContinues || (&page)[k].span_back != k) {
      return {"a span's later page does not lead back to its first", &page};
    }
  }
  // Every free block once, inside the page, on a block boundary. Blocks on
  // the remote list still count as used until collected.
  std::uint64_t seen[kPageSize / 16 / 64] = {};
  std::uint32_t counts[2] = {};
  void* const lists[2] = {page.free, page.thread_free.load()};
  for (int l = 0; l < 2; ++l) {
    for (void* b = lists[l]; b != nullptr; b = NextOf(b)) {
      if (!OnBlockBoundary(page, b)) {
        return {"free list links to something that is not a block of its page",
                b};
      }
      const std::size_t index =
          static_cast<std::size_t>(static_cast<std::byte*>(b) - page.start) /
          page.block_size;
      if (seen[index / 64] >> (index % 64) & 1) {
        return {"free list holds a block twice (a cycle or a double free)", b};
      }
      seen[index / 64] |= std::uint64_t{1} << (index % 64);
      ++counts[l];
    }
  }
  const std::uint32_t linked = page.linked_bytes.load();
  const std::uint32_t extended = linked / page.block_size;
  if (linked % page.block_size != 0 || extended > page.capacity ||
      counts[0] + page.used != extended || counts[1] > page.used) {
    return {"page's free and used blocks do not add up to its capacity", &page};
  }
  return {};
}

namespace {

// Adds the blocks of `page`, a page in use; returns the bytes they span.
std::size_t AddPageStats(const PageInfo& page, HeapStats& stats) {
  std::uint32_t remote = 0;
  for (void* b = page.thread_free.load(); b != nullptr; b = NextOf(b)) {
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
  return std::size_t{page.capacity} * page.block_size;
}

}  // namespace

void AddChunkStats(const ChunkHeader& chunk, HeapStats& stats) {
  stats.heap_bytes += kChunkSize;
  stats.resident_bytes += ResidentBytes(&chunk, kChunkSize);
  std::size_t accounted = 0;
  for (const PageInfo& page : chunk.pages) {
    if (page.size_class >= 0) accounted += AddPageStats(page, stats);
  }
  stats.overhead_bytes += kChunkSize - accounted;
}

}  // namespace rusty_malloc

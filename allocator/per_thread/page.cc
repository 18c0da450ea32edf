#include "allocator/per_thread/page.h"

#include <algorithm>

#include "allocator/common/misuse.h"
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
      counts[0] + InUse(page.used) != extended ||
      counts[1] > InUse(page.used)) {
    return {"page's free and used blocks do not add up to its capacity", &page};
  }
  if (page.remote_count.load() != counts[1]) {
    return {"page's count of remote frees is not its remote list's length",
            &page};
  }
  return {};
}

void ReportCorruptFreeList(void* block) {
  ReportMisuse("free list corrupted: a freed block was written to", block);
}

namespace {

// Adds the blocks of a page of class `cls`; returns the bytes they span. The
// size and capacity come from the class, not the descriptor: the owner may be
// restarting the page meanwhile, and only the class and the count are written
// atomically.
std::size_t AddPageStats(const PageInfo& page, int cls, HeapStats& stats) {
  const std::size_t block_size = ClassSize(cls);
  const std::uint32_t capacity =
      static_cast<std::uint32_t>(SpanPagesOf(cls) * kPageSize / block_size);
  // The remote count before `used`: the owner lowers `used` before it
  // lowers the count (release), so a count read lowered comes with `used`
  // lowered too. Read the other way round, a collection in between counted
  // its blocks as allocated twice over (the lifecycle fuzzer's check of
  // Stats beside threads failed once in 30 runs under TSan).
  std::uint32_t remote = page.remote_count.load(std::memory_order_acquire);
  std::uint32_t used = InUse(SharedLoad(page.used));
  if (Planted(PlantedBug::kStatsWalkRemoteList)) {
    // The race this function avoids: the owner takes and reuses these
    // blocks while the walk follows their links.
    remote = 0;
    for (void* b = page.thread_free.load(); b != nullptr; b = NextOf(b)) {
      ++remote;
    }
  }
  // Read apart from `used`, the two may disagree for a moment.
  used -= std::min(used, remote);
  const std::size_t allocated = std::min(used, capacity);
  stats.allocated_blocks += allocated;
  stats.allocated_bytes += allocated * block_size;
  const std::size_t free_blocks = capacity - allocated;
  stats.free_blocks += free_blocks;
  stats.free_bytes += free_blocks * block_size;
  if (free_blocks > 0) {
    stats.largest_free_block = std::max(stats.largest_free_block, block_size);
  }
  return std::size_t{capacity} * block_size;
}

}  // namespace

void AddChunkStats(const ChunkHeader& chunk, HeapStats& stats) {
  stats.heap_bytes += kChunkSize;
  stats.resident_bytes += ResidentBytes(&chunk, kChunkSize);
  std::size_t accounted = 0;
  for (const PageInfo& page : chunk.pages) {
    const int cls = SharedLoad(page.size_class);
    if (cls >= 0 && cls < kSizeClasses) {
      accounted += AddPageStats(page, cls, stats);
    }
  }
  stats.overhead_bytes += kChunkSize - accounted;
}

}  // namespace rusty_malloc

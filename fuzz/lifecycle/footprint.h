// Part of per_thread_lifecycle_fuzzer: the checks at quiescent moments
// (Verify(), the block count) and the footprint oracle, memory that must
// have gone back or been reused; apart because they judge the heap as a
// whole, after the commands.

#ifndef RUSTY_MALLOC_FUZZ_LIFECYCLE_FOOTPRINT_H_
#define RUSTY_MALLOC_FUZZ_LIFECYCLE_FOOTPRINT_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/per_thread/chunk.h"
#include "fuzz/lifecycle/actor.h"
#include "fuzz/lifecycle/lifecycle.h"
#include "testing/no_coverage.h"

namespace rusty_malloc::fuzzing::lifecycle {

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // Loops over thousands of blocks.

// Every heap trimmed, as each thread's purge and malloc_trim would leave
// it: then the footprint oracle, exactly.
template <typename Heap>
void Lifecycle<Heap>::TrimEverywhere() {
  // A page emptied only by a batch pushed after the trims would keep its
  // chunk, and the footprint check is exact here.
  FlushEveryActor();
  // Actor 0 at least, so that abandoned heaps are trimmed even when no
  // thread is left.
  for (int a = 0; a < kActors; ++a) {
    if (a == 0 || actors_[a] != nullptr) {
      On(a, [&] { heap_.ReleaseFreeMemory(); });
    }
  }
  Check(/*trimmed=*/true);
}

// The footprint oracle's bookkeeping for a command about to allocate
// about `bytes` of small blocks: see CheckFootprint.
template <typename Heap>
void Lifecycle<Heap>::ExpectChunksFor(std::size_t bytes) {
  chunks_expected_ += 1 + 2 * std::min(bytes, max_live_bytes_) / kChunkSize;
  peak_chunks_ = std::max(peak_chunks_, chunks_after_trim_ + chunks_expected_);
}

// The chunks that hold a live block of the model.
template <typename Heap>
std::size_t Lifecycle<Heap>::ChunksInUse() {
  std::vector<const ChunkHeader*> chunks;
  for (const Live& l : live_) {
    if (heap_.source().Contains(l.ptr)) chunks.push_back(ChunkOf(l.ptr));
  }
  std::sort(chunks.begin(), chunks.end());
  return static_cast<std::size_t>(std::unique(chunks.begin(), chunks.end()) -
                                  chunks.begin());
}

// The footprint oracle: memory that must have gone back, or been reused.
//
// The heaps' chunks are Stats().heap_bytes less the medium heap's. Right
// after every heap was trimmed (`trimmed`), each empty page is retired and
// each chunk with no page in use released, the last one too
// (ThreadHeap::Purge), so the heaps hold exactly the chunks where a live
// block of the model lies: no slack at all, and a chunk kept empty fails.
//
// What the source keeps read-write (committed_bytes, less the medium
// heap's) is a high-water mark: a released chunk stays committed for
// reuse, and is handed out again before a new one is carved. So it may
// reach the most chunks the heaps ever held at once, and no further. The
// model bounds that peak from above: at a trim the heaps hold C chunks
// (above), and each allocating command after it can add at most
// 1 + 2 * bytes / kChunkSize: a new thread heap's first chunk or a
// partly used last one, and its bytes at half a chunk's worth per chunk
// (a 1 MiB span fits three times in a chunk's 63 free pages, which is
// the worst packing of any class; medium-sized requests take no chunk).
// The bound is C plus those terms, the largest seen since the input
// began. A source that carves new chunks while released ones wait
// (kReleasedChunkNotReused) passes it after a few trims and allocations.
template <typename Heap>
void Lifecycle<Heap>::CheckFootprint(const HeapStats& stats, bool trimmed) {
  const HeapStats medium = heap_.medium().Stats();
  const std::size_t chunk_bytes = stats.heap_bytes - medium.heap_bytes;
  const std::size_t committed = stats.committed_bytes - medium.committed_bytes;
  if (chunk_bytes % kChunkSize != 0 || committed < chunk_bytes) {
    Require("footprint: heaps hold more chunks than the source committed");
  }
  if (trimmed) {
    const std::size_t in_use = ChunksInUse();
    if (chunk_bytes != in_use * kChunkSize) {
      Require("footprint: after every heap's trim, heaps hold " +
              std::to_string(chunk_bytes / kChunkSize) +
              " chunks where live blocks lie in " + std::to_string(in_use));
    }
    chunks_after_trim_ = in_use;
    chunks_expected_ = 0;
    peak_chunks_ = std::max(peak_chunks_, in_use);
  }
  if (committed > peak_chunks_ * kChunkSize) {
    Require("footprint: the source committed " +
            std::to_string(committed / kChunkSize) +
            " chunks where the heaps can have needed " +
            std::to_string(peak_chunks_) + " at most: released chunks " +
            "are not reused");
  }
}

// Every live actor hands over the remote frees it holds in its batches
// (ThreadHeap::FreeRemoteBatched), as a thread going idle may: until then
// they count as allocated. An exited actor's went over at its exit.
template <typename Heap>
void Lifecycle<Heap>::FlushEveryActor() {
  for (int a = 0; a < kActors; ++a) {
    if (actors_[a] != nullptr) {
      actors_[a]->Run([this] { heap_.FlushRemoteFrees(); });
    }
  }
}

// Every actor is idle here.
template <typename Heap>
void Lifecycle<Heap>::Check(bool trimmed) {
  FlushEveryActor();
  unchecked_ = 0;
  thread_exited_ = false;
  const HeapReport report = heap_.Verify();
  if (!report.ok()) Require("Verify: " + report.ToString());
  const HeapStats stats = heap_.Stats();
  if (stats.allocated_blocks != live_.size()) {
    Require("allocated block count disagrees with the model");
  }
  CheckFootprint(stats, trimmed);
}

RUSTY_MALLOC_NO_COVERAGE_END

}  // namespace rusty_malloc::fuzzing::lifecycle

#endif  // RUSTY_MALLOC_FUZZ_LIFECYCLE_FOOTPRINT_H_

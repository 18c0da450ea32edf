#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_SOURCE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_SOURCE_H_

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "allocator/common/mapped_array.h"
#include "allocator/common/os_memory.h"
#include "allocator/common/spin_lock.h"
#include "allocator/common/tunables.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_map.h"
#include "growers/grower.h"

namespace rusty_malloc {

// Where the per-thread allocator gets its chunks. All three are thread-safe.
//   void* AllocateChunk()       kChunkSize bytes aligned to kChunkSize,
//                               readable and writable, or nullptr.
//   void ReleaseChunk(void*)    takes a chunk back; its memory may go back to
//                               the OS, its address may be handed out again.
//   bool Contains(const void*)  whether the address lies in a chunk this
//                               source handed out (a range check, no lock).
// and optionally
//   void Decommit(void*, size_t)  gives the memory of unused pages of a chunk
//                               handed out back to the OS (CanDecommit).
//   void PurgeReleased(Due)     gives the memory of released chunks back to
//                               the OS: all of them, once the first has
//                               waited a purge delay, or at once with
//                               Due::kNow (PurgesReleasedChunks).
//   size_t ReservedBytes(), CommittedBytes()  the address space the source
//                               holds, and what of it is read-write (whether
//                               in a heap's chunk or released).
template <typename S>
concept ChunkSource = requires(S& s, void* chunk, const void* p) {
  { s.AllocateChunk() } -> std::same_as<void*>;
  s.ReleaseChunk(chunk);
  { s.Contains(p) } -> std::same_as<bool>;
};
template <typename S>
concept PurgesReleasedChunks = requires(S& s, Due when) {
  s.PurgeReleased(when);
};

// Chunks from regions of address space reserved as they are needed, each
// inaccessible (PROT_NONE) until a chunk of it is handed out, so untouched
// reservations cost nothing under mlockall and little under ulimit -v, and
// there is no ceiling below what the OS gives. Contains asks a ChunkMap: two
// loads, no lock, and yes only for chunks handed out (readable). Released
// chunks are reused first, the most recent first; their memory goes back to
// the OS (MADV_DONTNEED) only once they have waited a purge delay, so that
// threads exiting and starting do not fault the same memory in again.
class MmapChunkSource {
 public:
  // Regions start at one chunk and double up to this (64 MiB), so a small
  // program reserves little and a big one reserves rarely.
  static constexpr std::size_t kRegionChunks = 16;

  // `limit_bytes` bounds the chunks' total size (tests); by default only the
  // OS does.
  constexpr explicit MmapChunkSource(std::size_t limit_bytes = SIZE_MAX)
      : limit_chunks_(limit_bytes / kChunkSize) {}
  MmapChunkSource(const MmapChunkSource&) = delete;
  MmapChunkSource& operator=(const MmapChunkSource&) = delete;
  ~MmapChunkSource();

  [[nodiscard]] void* AllocateChunk() ABSL_LOCKS_EXCLUDED(lock_);
  void ReleaseChunk(void* chunk) ABSL_LOCKS_EXCLUDED(lock_);
  // Gives the memory of every released chunk back to the OS, once the first
  // of them has waited a purge delay (a clock per batch, not per chunk), or
  // with Due::kNow at once.
  void PurgeReleased(Due when) ABSL_LOCKS_EXCLUDED(lock_);
  bool Contains(const void* p) const { return map_.Contains(p); }
  // Gives the memory of `bytes` at `p`, whole pages (kPageSize) inside a
  // chunk handed out, back to the OS; they read as zero when next touched.
  static void Decommit(void* p, std::size_t bytes);
  std::size_t ReservedBytes() ABSL_LOCKS_EXCLUDED(lock_);
  std::size_t CommittedBytes() ABSL_LOCKS_EXCLUDED(lock_);

  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(lock_) { lock_.Lock(); }
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(lock_) { lock_.Unlock(); }

 private:
  // Reserves a region and makes it the one chunks are carved from.
  [[nodiscard]] bool ReserveRegion() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  [[nodiscard]] bool PushReleased(std::uintptr_t chunk)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void DecommitReleased() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void DecommitReleasedIfDue(std::int64_t now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_) {
    if (decommit_due_ns_ != 0 && now >= decommit_due_ns_) DecommitReleased();
  }

  const std::size_t limit_chunks_;
  SpinLock lock_;
  ChunkMap map_;  // Marked under lock_; read without it (Contains).
  std::size_t carved_ ABSL_GUARDED_BY(lock_) = 0;    // Chunks handed out new.
  std::size_t reserved_ ABSL_GUARDED_BY(lock_) = 0;  // Bytes, every region.
  // The current region's next chunk and end.
  std::uintptr_t next_ ABSL_GUARDED_BY(lock_) = 0;
  std::uintptr_t region_end_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t next_region_chunks_ ABSL_GUARDED_BY(lock_) = 1;
  // Released chunks, on memory of the source's own (it serves malloc); bit
  // kCommitted marks one whose memory is still committed.
  static constexpr std::uintptr_t kCommitted = 1;
  MappedArray<std::uintptr_t, kOsPage / sizeof(std::uintptr_t)> released_
      ABSL_GUARDED_BY(lock_);
  std::size_t released_count_ ABSL_GUARDED_BY(lock_) = 0;
  // When the committed released chunks go back to the OS; 0 while none.
  std::int64_t decommit_due_ns_ ABSL_GUARDED_BY(lock_) = 0;
  // Released chunks still committed (bounded by RetainedBytesMax()).
  std::size_t committed_released_ ABSL_GUARDED_BY(lock_) = 0;
};

static_assert(ChunkSource<MmapChunkSource>);

// Chunks carved from a grower, for tests and for heaps on a caller's memory.
// Released chunks are reused, never given back to the grower.
template <Grower G>
class GrowerChunkSource {
 public:
  explicit GrowerChunkSource(G grower) : grower_(std::move(grower)) {}

  [[nodiscard]] void* AllocateChunk() ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    if (released_ != nullptr) {
      void* chunk = released_;
      released_ = *static_cast<void**>(chunk);
      return chunk;
    }
    const auto end =
        reinterpret_cast<std::uintptr_t>(grower_.Base()) + grower_.Size();
    const std::uintptr_t aligned =
        grower_.Size() == 0 ? 0 : (end + kChunkSize - 1) & ~(kChunkSize - 1);
    // Before the first growth the base is unknown: ask for room to align.
    const std::size_t want =
        grower_.Size() == 0 ? 2 * kChunkSize : aligned - end + kChunkSize;
    if (grower_.Grow(want) == 0) return nullptr;
    const auto base = reinterpret_cast<std::uintptr_t>(grower_.Base());
    if (begin_ == 0) begin_ = (base + kChunkSize - 1) & ~(kChunkSize - 1);
    const std::uintptr_t chunk = aligned == 0 ? begin_ : aligned;
    end_.store(chunk + kChunkSize, std::memory_order_release);
    return reinterpret_cast<void*>(chunk);
  }
  void ReleaseChunk(void* chunk) ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    *static_cast<void**>(chunk) = released_;
    released_ = chunk;
  }
  bool Contains(const void* p) const {
    // end_ first: its acquire load makes begin_, written before it, visible.
    // Before the first chunk, begin_ may be being written: not read then.
    const std::uintptr_t end = end_.load(std::memory_order_acquire);
    if (end == 0) return false;
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    return at >= begin_ && at < end;
  }
  // For tests, while no other thread uses the source.
  G& grower() ABSL_NO_THREAD_SAFETY_ANALYSIS { return grower_; }

 private:
  G grower_ ABSL_GUARDED_BY(lock_);
  SpinLock lock_;
  // Written once under lock_, before end_ publishes it; read without it
  // (Contains).
  std::uintptr_t begin_ = 0;
  std::atomic<std::uintptr_t> end_{0};
  void* released_ ABSL_GUARDED_BY(lock_) = nullptr;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_SOURCE_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_SOURCE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_SOURCE_H_

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "absl/base/const_init.h"
#include "absl/base/internal/spinlock.h"
#include "absl/base/thread_annotations.h"
#include "allocator/per_thread/chunk.h"
#include "growers/grower.h"

namespace rusty_malloc {

// Where the per-thread allocator gets its chunks. All three are thread-safe.
//   void* AllocateChunk()       kChunkSize bytes aligned to kChunkSize,
//                               readable and writable, or nullptr.
//   void ReleaseChunk(void*)    takes a chunk back; its memory may go back to
//                               the OS, its address may be handed out again.
//   bool Contains(const void*)  whether the address lies in a chunk this
//                               source handed out (a range check, no lock).
template <typename S>
concept ChunkSource = requires(S& s, void* chunk, const void* p) {
  { s.AllocateChunk() } -> std::same_as<void*>;
  s.ReleaseChunk(chunk);
  { s.Contains(p) } -> std::same_as<bool>;
};

// Chunks from one reserved range of address space, so Contains is two
// compares. Released chunks are decommitted (MADV_DONTNEED) and reused first.
class MmapChunkSource {
 public:
  static constexpr std::size_t kMaxReserve = std::size_t{64} << 30;

  // `reserve_bytes` (at most kMaxReserve) bounds the chunks' total size.
  constexpr explicit MmapChunkSource(std::size_t reserve_bytes = kMaxReserve)
      : reserve_bytes_(reserve_bytes < kMaxReserve ? reserve_bytes
                                                   : kMaxReserve),
        lock_(absl::kConstInit, absl::base_internal::SCHEDULE_KERNEL_ONLY) {}
  MmapChunkSource(const MmapChunkSource&) = delete;
  MmapChunkSource& operator=(const MmapChunkSource&) = delete;
  ~MmapChunkSource();

  [[nodiscard]] void* AllocateChunk() ABSL_LOCKS_EXCLUDED(lock_);
  void ReleaseChunk(void* chunk) ABSL_LOCKS_EXCLUDED(lock_);
  bool Contains(const void* p) const {
    // The acquire load comes first: it makes reserved_, stored before
    // begin_, visible. (The operands of < have no evaluation order.)
    const std::uintptr_t begin = begin_.load(std::memory_order_acquire);
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    return at - begin < reserved_.load(std::memory_order_relaxed);
  }

  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(lock_) { lock_.Lock(); }
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(lock_) { lock_.Unlock(); }

 private:
  static constexpr std::size_t kMaxChunks = kMaxReserve / kChunkSize;

  std::size_t reserve_bytes_;
  absl::base_internal::SpinLock lock_;
  // Stored under lock_ when the range is mapped; read without it (Contains).
  std::atomic<std::uintptr_t> begin_{0};
  std::atomic<std::size_t> reserved_{0};
  // Unaligned start of the mapping.
  std::uintptr_t mapping_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t mapped_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t next_unused_ ABSL_GUARDED_BY(lock_) = 0;  // Chunks carved so far.
  std::size_t released_count_ ABSL_GUARDED_BY(lock_) = 0;
  // Indexes of released chunks.
  std::uint32_t released_[kMaxChunks] ABSL_GUARDED_BY(lock_) = {};
};

static_assert(ChunkSource<MmapChunkSource>);

// Chunks carved from a grower, for tests and for heaps on a caller's memory.
// Released chunks are reused, never given back to the grower.
template <Grower G>
class GrowerChunkSource {
 public:
  explicit GrowerChunkSource(G grower)
      : grower_(std::move(grower)),
        lock_(absl::kConstInit, absl::base_internal::SCHEDULE_KERNEL_ONLY) {}

  [[nodiscard]] void* AllocateChunk() ABSL_LOCKS_EXCLUDED(lock_) {
    absl::base_internal::SpinLockHolder hold(&lock_);
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
    absl::base_internal::SpinLockHolder hold(&lock_);
    *static_cast<void**>(chunk) = released_;
    released_ = chunk;
  }
  bool Contains(const void* p) const {
    // end_ first: its acquire load makes begin_, written before it, visible.
    const std::uintptr_t end = end_.load(std::memory_order_acquire);
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    return at >= begin_ && at < end;
  }
  // For tests, while no other thread uses the source.
  G& grower() ABSL_NO_THREAD_SAFETY_ANALYSIS { return grower_; }

 private:
  G grower_ ABSL_GUARDED_BY(lock_);
  absl::base_internal::SpinLock lock_;
  // Written once under lock_, before end_ publishes it; read without it
  // (Contains).
  std::uintptr_t begin_ = 0;
  std::atomic<std::uintptr_t> end_{0};
  void* released_ ABSL_GUARDED_BY(lock_) = nullptr;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_CHUNK_SOURCE_H_

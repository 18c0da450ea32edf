#include "allocator/per_thread/chunk_source.h"

#include <algorithm>

#include "allocator/common/monotonic_clock.h"
#include "allocator/common/os_memory.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/released_bytes.h"
#include "allocator/common/sanitizer.h"
#include "allocator/common/tunables.h"

namespace rusty_malloc {

MmapChunkSource::~MmapChunkSource() {
  // Every region but the current one was handed out whole, so the marked
  // chunks and the current region's rest are everything reserved.
  map_.ForEachChunk([](std::uintptr_t chunk) {
    // ASan's shadow outlives the mapping: released chunks are poisoned.
    Unpoison(reinterpret_cast<void*>(chunk), kChunkSize);
    Unmap(reinterpret_cast<void*>(chunk), kChunkSize);
  });
  if (next_ != region_end_) {
    Unmap(reinterpret_cast<void*>(next_), region_end_ - next_);
  }
}

bool MmapChunkSource::ReserveRegion() {
  // Fewer where address space is short (ulimit -v), and never more than
  // the limit leaves.
  std::size_t chunks = next_region_chunks_;
  if (limit_chunks_ - carved_ < chunks) chunks = limit_chunks_ - carved_;
  for (; chunks > 0; chunks /= 2) {
    // One chunk more pays for aligning the region; its ends go back.
    const std::size_t bytes = (chunks + 1) * kChunkSize;
    void* range = Reserve(bytes);
    if (range == nullptr) continue;
    const auto begin = reinterpret_cast<std::uintptr_t>(range);
    const std::uintptr_t first = (begin + kChunkSize - 1) & ~(kChunkSize - 1);
    const std::uintptr_t end = first + chunks * kChunkSize;
    if (first != begin) Unmap(range, first - begin);
    if (begin + bytes != end) {
      Unmap(reinterpret_cast<void*>(end), begin + bytes - end);
    }
    if (!map_.Prepare(first, chunks)) {
      Unmap(reinterpret_cast<void*>(first), chunks * kChunkSize);
      return false;
    }
    next_ = first;
    region_end_ = end;
    reserved_ += end - first;
    if (next_region_chunks_ < kRegionChunks) next_region_chunks_ *= 2;
    return true;
  }
  return false;
}

void* MmapChunkSource::AllocateChunk() {
  SpinLockHolder hold(&lock_);
  if (released_count_ > 0 && !Planted(PlantedBug::kReleasedChunkNotReused)) {
    const std::uintptr_t released = released_[--released_count_];
    if ((released & kCommitted) != 0) --committed_released_;
    void* chunk = reinterpret_cast<void*>(released & ~kCommitted);
    Unpoison(chunk, kChunkSize);
    return chunk;
  }
  if (carved_ == limit_chunks_) return nullptr;
  if (next_ == region_end_ && !ReserveRegion()) return nullptr;
  // Committed only now: a reserved region is inaccessible until used.
  if (!Commit(reinterpret_cast<void*>(next_), kChunkSize)) return nullptr;
  ++carved_;
  const std::uintptr_t chunk = next_;
  next_ += kChunkSize;
  map_.Mark(chunk);
  return reinterpret_cast<void*>(chunk);
}

bool MmapChunkSource::PushReleased(std::uintptr_t chunk) {
  if (released_count_ == released_.capacity() &&
      !released_.Grow(released_count_)) {
    return false;
  }
  released_[released_count_++] = chunk;
  return true;
}

std::size_t MmapChunkSource::ReservedBytes() {
  SpinLockHolder hold(&lock_);
  return reserved_;
}

std::size_t MmapChunkSource::CommittedBytes() {
  SpinLockHolder hold(&lock_);
  return carved_ * kChunkSize;
}

void MmapChunkSource::Decommit(void* p, std::size_t bytes) {
  rusty_malloc::Decommit(p, bytes);
  CountReleased(bytes);
}

void MmapChunkSource::ReleaseChunk(void* chunk) {
  // Under ASan, whatever still reads a released chunk (its header
  // included) is reported.
  Poison(chunk, kChunkSize);
  const std::int64_t now = CoarseNowNs();
  SpinLockHolder hold(&lock_);
  DecommitReleasedIfDue(now);
  // Past the retained-memory bound the chunk's memory goes back at once,
  // and the chunk goes under the committed ones, which are reused first.
  if ((committed_released_ + 1) * kChunkSize > RetainedBytesMax()) {
    Decommit(chunk, kChunkSize);
    if (PushReleased(reinterpret_cast<std::uintptr_t>(chunk))) {
      std::rotate(released_.data(), released_.data() + released_count_ - 1,
                  released_.data() + released_count_);
    }
    return;
  }
  if (!PushReleased(reinterpret_cast<std::uintptr_t>(chunk) | kCommitted)) {
    // With no room to remember it, the chunk stays ours but unused: only
    // its address space is lost, once its memory is back with the OS.
    Decommit(chunk, kChunkSize);
    return;
  }
  ++committed_released_;
  if (decommit_due_ns_ == 0) decommit_due_ns_ = now + PurgeDelayNs();
}

void MmapChunkSource::PurgeReleased(Due when) {
  const std::int64_t now = CoarseNowNs();
  SpinLockHolder hold(&lock_);
  if (when == Due::kNow) {
    DecommitReleased();
  } else {
    DecommitReleasedIfDue(now);
  }
}

void MmapChunkSource::DecommitReleased() {
  // Under the lock: a chunk handed out again must not lose its memory.
  decommit_due_ns_ = 0;
  committed_released_ = 0;
  for (std::size_t i = 0; i < released_count_; ++i) {
    if ((released_[i] & kCommitted) == 0) continue;
    released_[i] &= ~kCommitted;
    Decommit(reinterpret_cast<void*>(released_[i]), kChunkSize);
  }
}

}  // namespace rusty_malloc

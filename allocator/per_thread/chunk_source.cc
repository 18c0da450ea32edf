#include "allocator/per_thread/chunk_source.h"

#include <sys/mman.h>

namespace rusty_malloc {

MmapChunkSource::~MmapChunkSource() {
  if (mapping_ != 0) munmap(reinterpret_cast<void*>(mapping_), mapped_);
}

void* MmapChunkSource::AllocateChunk() {
  absl::base_internal::SpinLockHolder hold(&lock_);
  if (released_count_ > 0) {
    const std::uint32_t index = released_[--released_count_];
    return reinterpret_cast<void*>(begin_.load(std::memory_order_relaxed) +
                                   index * kChunkSize);
  }
  if (mapping_ == 0) {
    // One extra chunk of address space pays for aligning the range. Untouched
    // pages of a MAP_NORESERVE mapping cost no memory. Where address space
    // is limited (ulimit -v, valgrind), settle for less, down to 4 chunks.
    std::size_t want = reserve_bytes_ / kChunkSize * kChunkSize;
    void* range = MAP_FAILED;
    for (;;) {
      range = mmap(nullptr, want + kChunkSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (range != MAP_FAILED || want <= 4 * kChunkSize) break;
      want = want / 2 / kChunkSize * kChunkSize;
    }
    if (range == MAP_FAILED) return nullptr;
    mapping_ = reinterpret_cast<std::uintptr_t>(range);
    mapped_ = want + kChunkSize;
    reserved_.store(want, std::memory_order_relaxed);
    begin_.store((mapping_ + kChunkSize - 1) & ~(kChunkSize - 1),
                 std::memory_order_release);
  }
  if ((next_unused_ + 1) * kChunkSize >
      reserved_.load(std::memory_order_relaxed)) {
    return nullptr;
  }
  return reinterpret_cast<void*>(begin_.load(std::memory_order_relaxed) +
                                 next_unused_++ * kChunkSize);
}

void MmapChunkSource::ReleaseChunk(void* chunk) {
  // Give the memory back now; the address range stays ours for reuse.
  madvise(chunk, kChunkSize, MADV_DONTNEED);
  absl::base_internal::SpinLockHolder hold(&lock_);
  released_[released_count_++] =
      static_cast<std::uint32_t>((reinterpret_cast<std::uintptr_t>(chunk) -
                                  begin_.load(std::memory_order_relaxed)) /
                                 kChunkSize);
}

}  // namespace rusty_malloc

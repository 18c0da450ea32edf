#ifndef RUSTY_MALLOC_GROWERS_MMAP_GROWER_H_
#define RUSTY_MALLOC_GROWERS_MMAP_GROWER_H_

#include <cstddef>
#include <utility>

#include "growers/grower.h"

namespace rusty_malloc {

// Reserves one large range of address space on first growth and commits it
// from the front as the heap grows, so the heap can grow in place to the
// whole reservation without ever moving. Shrinking decommits whole pages
// above the new end, returning their memory to the OS while keeping the
// reservation.
class MmapGrower {
 public:
  // `reserve_bytes` bounds the heap (address space only; no memory is used
  // until committed). Where the address space is limited, the reservation
  // halves until it fits (down to 16 MiB); Reserved() tells what it got. Pages
  // are committed `commit_step` bytes at a time, rounded up to the page size,
  // to keep mprotect calls rare.
  constexpr explicit MmapGrower(std::size_t reserve_bytes = std::size_t{1}
                                                            << 32,
                                std::size_t commit_step = 64 * 1024)
      : reserve_bytes_(reserve_bytes), commit_step_(commit_step) {}

  MmapGrower(const MmapGrower&) = delete;
  MmapGrower& operator=(const MmapGrower&) = delete;
  constexpr MmapGrower(MmapGrower&& other) noexcept
      : reserve_bytes_(other.reserve_bytes_),
        commit_step_(other.commit_step_),
        base_(std::exchange(other.base_, nullptr)),
        reserved_(std::exchange(other.reserved_, 0)),
        committed_(std::exchange(other.committed_, 0)),
        size_(std::exchange(other.size_, 0)) {}
  MmapGrower& operator=(MmapGrower&& other) noexcept;
  // Unmaps the reservation; allocations from it must be dead by then.
  // constexpr so that allocators over an MmapGrower can be constinit.
  constexpr ~MmapGrower() {
    if (base_ != nullptr) Unmap();
  }

  std::size_t Grow(std::size_t min_bytes);
  bool Shrink(std::size_t bytes);

  std::byte* Base() const { return base_; }
  std::size_t Size() const { return size_; }
  // Bytes currently backed by read-write pages (at least Size()).
  std::size_t Committed() const { return committed_; }
  std::size_t Reserved() const { return reserved_; }

 private:
  bool Reserve();
  void Unmap();

  std::size_t reserve_bytes_;
  std::size_t commit_step_;
  std::byte* base_ = nullptr;
  std::size_t reserved_ = 0;
  std::size_t committed_ = 0;
  std::size_t size_ = 0;
};

static_assert(Grower<MmapGrower>);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_GROWERS_MMAP_GROWER_H_

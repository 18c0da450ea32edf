#ifndef RUSTY_MALLOC_GROWERS_MMAP_GROWER_H_
#define RUSTY_MALLOC_GROWERS_MMAP_GROWER_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "growers/grower.h"

namespace rusty_malloc {

// Reserves a range of address space on first growth and commits it from the
// front as the heap grows, so the heap grows in place without ever moving.
// Shrinking decommits whole pages above the new end, returning their memory
// to the OS while keeping the reservation.
class MmapGrower {
 public:
  // `reserve_bytes` bounds the heap (address space only; no memory is used
  // until committed). Where the address space is limited, the reservation
  // halves until it fits (down to 16 MiB); Reserved() tells what it got. Pages
  // are committed `commit_step` bytes at a time, rounded up to the page size,
  // to keep mprotect calls rare. With `first_reserve_bytes` below
  // `reserve_bytes`, only that much is reserved at first, away from where
  // the kernel places other mappings, and the reservation doubles in place
  // (MAP_FIXED_NOREPLACE) as the heap needs it, until `reserve_bytes` or
  // until the addresses above are taken: address space that counts against
  // ulimit -v and mlockall is then taken only as it is used. (Under ASan
  // and TSan, which own the address space's layout, it is all reserved at
  // once.)
  constexpr explicit MmapGrower(std::size_t reserve_bytes = std::size_t{1}
                                                            << 32,
                                std::size_t commit_step = 64 * 1024,
                                std::size_t first_reserve_bytes = SIZE_MAX)
      : reserve_bytes_(reserve_bytes),
        commit_step_(commit_step),
        first_reserve_bytes_(first_reserve_bytes) {}

  MmapGrower(const MmapGrower&) = delete;
  MmapGrower& operator=(const MmapGrower&) = delete;
  constexpr MmapGrower(MmapGrower&& other) noexcept
      : reserve_bytes_(other.reserve_bytes_),
        commit_step_(other.commit_step_),
        first_reserve_bytes_(other.first_reserve_bytes_),
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
  void Decommit(std::byte* p, std::size_t bytes);

  std::byte* Base() const { return base_; }
  std::size_t Size() const { return size_; }
  // Bytes currently backed by read-write pages (at least Size()).
  std::size_t Committed() const { return committed_; }
  std::size_t Reserved() const { return reserved_; }

 private:
  bool Reserve();
  // Adds at least `bytes` to the reservation, in place.
  bool Extend(std::size_t bytes);
  void Unmap();

  std::size_t reserve_bytes_;
  std::size_t commit_step_;
  std::size_t first_reserve_bytes_;
  std::byte* base_ = nullptr;
  std::size_t reserved_ = 0;
  std::size_t committed_ = 0;
  std::size_t size_ = 0;
};

static_assert(DecommittingGrower<MmapGrower>);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_GROWERS_MMAP_GROWER_H_

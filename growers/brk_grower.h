#ifndef RUSTY_MALLOC_GROWERS_BRK_GROWER_H_
#define RUSTY_MALLOC_GROWERS_BRK_GROWER_H_

#include <cstddef>

#include "growers/grower.h"

namespace rusty_malloc {

// Grows the heap by moving the program break, as the original crate's
// BrkGrower did, with one difference that matters in a real process: other
// code (glibc's malloc above all) may move the break too. The original cached
// the break and set it absolutely, so it handed out memory that glibc already
// owned. This grower re-reads the break before every change and refuses to
// grow or shrink when it is not where this grower left it, so the two never
// overlap; the allocator then reports out-of-memory for that request.
//
// At most one BrkGrower should own the break at a time.
class BrkGrower {
 public:
  // The break moves in multiples of `increment`, rounded up to
  // kGrowerAlignment (a value of 0 means kGrowerAlignment): a misaligned
  // increment would misalign every header laid out after it.
  constexpr explicit BrkGrower(std::size_t increment = 4096)
      : increment_(increment == 0 ? kGrowerAlignment
                                  : (increment + kGrowerAlignment - 1) &
                                        ~(kGrowerAlignment - 1)) {}

  BrkGrower(const BrkGrower&) = delete;
  BrkGrower& operator=(const BrkGrower&) = delete;
  BrkGrower(BrkGrower&&) = default;
  BrkGrower& operator=(BrkGrower&&) = default;

  std::size_t Grow(std::size_t min_bytes);
  bool Shrink(std::size_t bytes);
  // madvise(MADV_DONTNEED): the break's pages read as zero afterwards.
  void Decommit(std::byte* p, std::size_t bytes);

  std::byte* Base() const { return base_; }
  std::size_t Size() const { return size_; }
  std::size_t Increment() const { return increment_; }

 private:
  std::size_t increment_;
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
};

static_assert(DecommittingGrower<BrkGrower>);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_GROWERS_BRK_GROWER_H_

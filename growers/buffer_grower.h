#ifndef RUSTY_MALLOC_GROWERS_BUFFER_GROWER_H_
#define RUSTY_MALLOC_GROWERS_BUFFER_GROWER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "allocator/common/check.h"
#include "growers/grower.h"

namespace rusty_malloc {

// Grows through a caller-provided fixed buffer (static storage, a stack array)
// and refuses growth past its end. The buffer must outlive the grower and
// every allocation made from it.
class BufferGrower {
 public:
  // Uses the largest kGrowerAlignment-aligned part of `buffer`.
  explicit BufferGrower(std::span<std::byte> buffer) {
    const auto begin = reinterpret_cast<std::uintptr_t>(buffer.data());
    const std::uintptr_t aligned =
        (begin + kGrowerAlignment - 1) & ~(kGrowerAlignment - 1);
    const std::size_t skipped = aligned - begin;
    if (skipped < buffer.size()) {
      base_ = buffer.data() + skipped;
      capacity_ = (buffer.size() - skipped) & ~(kGrowerAlignment - 1);
    }
  }

  BufferGrower(const BufferGrower&) = delete;
  BufferGrower& operator=(const BufferGrower&) = delete;
  BufferGrower(BufferGrower&&) = default;
  BufferGrower& operator=(BufferGrower&&) = default;

  // Hands out exactly `min_bytes`: a fixed buffer gains nothing from
  // rounding, and exact growth keeps the remainder for later requests.
  std::size_t Grow(std::size_t min_bytes) {
    RUSTY_MALLOC_DCHECK(min_bytes != 0 && min_bytes % kGrowerAlignment == 0,
                        base_);
    if (min_bytes > capacity_ - size_) return 0;
    size_ += min_bytes;
    return min_bytes;
  }

  bool Shrink(std::size_t bytes) {
    RUSTY_MALLOC_DCHECK(bytes % kGrowerAlignment == 0, base_);
    if (bytes > size_) return false;
    size_ -= bytes;
    return true;
  }

  std::byte* Base() const { return base_; }
  std::size_t Size() const { return size_; }
  std::size_t Capacity() const { return capacity_; }

 private:
  std::byte* base_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

static_assert(Grower<BufferGrower>);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_GROWERS_BUFFER_GROWER_H_

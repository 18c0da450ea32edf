#include "growers/brk_grower.h"

#include <unistd.h>

#include <cstdint>
#include <limits>

#include "allocator/common/check.h"
#include "allocator/common/os_memory.h"

namespace rusty_malloc {
namespace {

std::byte* CurrentBreak() { return static_cast<std::byte*>(sbrk(0)); }

bool Failed(void* sbrk_result) {
  return sbrk_result == reinterpret_cast<void*>(-1);
}

}  // namespace

std::size_t BrkGrower::Grow(std::size_t min_bytes) {
  RUSTY_MALLOC_DCHECK(min_bytes != 0 && min_bytes % kGrowerAlignment == 0,
                      nullptr);
  if (min_bytes > std::numeric_limits<std::size_t>::max() - increment_)
    return 0;
  const std::size_t bytes =
      (min_bytes + increment_ - 1) / increment_ * increment_;
  if (bytes >
      static_cast<std::size_t>(std::numeric_limits<intptr_t>::max() / 2)) {
    return 0;
  }
  std::byte* const current = CurrentBreak();
  std::size_t padding = 0;
  if (size_ == 0) {
    // The initial break is only page- or word-aligned in general.
    padding = (kGrowerAlignment -
               reinterpret_cast<std::uintptr_t>(current) % kGrowerAlignment) %
              kGrowerAlignment;
  } else if (current != base_ + size_) {
    return 0;  // Someone else moved the break: our end is no longer the top.
  }
  void* const old_break = sbrk(static_cast<intptr_t>(bytes + padding));
  if (Failed(old_break)) return 0;
  if (old_break != current) {
    // The break moved between the check and the sbrk call. Undo our move if
    // we are still on top; either way the new bytes are not contiguous.
    if (CurrentBreak() ==
        static_cast<std::byte*>(old_break) + bytes + padding) {
      sbrk(-static_cast<intptr_t>(bytes + padding));
    }
    return 0;
  }
  if (size_ == 0) base_ = current + padding;
  size_ += bytes;
  return bytes;
}

void BrkGrower::Decommit(std::byte* p, std::size_t bytes) {
  rusty_malloc::Decommit(p, bytes);
}

bool BrkGrower::Shrink(std::size_t bytes) {
  RUSTY_MALLOC_DCHECK(bytes % kGrowerAlignment == 0, nullptr);
  if (bytes > size_) return false;
  if (bytes == 0) return true;
  // Lowering the break below memory someone else placed above ours would
  // hand their memory back to the kernel.
  if (CurrentBreak() != base_ + size_) return false;
  if (Failed(sbrk(-static_cast<intptr_t>(bytes)))) return false;
  size_ -= bytes;
  return true;
}

}  // namespace rusty_malloc

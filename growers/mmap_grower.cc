#include "growers/mmap_grower.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "allocator/common/check.h"
#include "allocator/common/os_memory.h"

namespace rusty_malloc {
namespace {

std::size_t RoundUp(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

MmapGrower& MmapGrower::operator=(MmapGrower&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) Unmap();
    reserve_bytes_ = other.reserve_bytes_;
    commit_step_ = other.commit_step_;
    first_reserve_bytes_ = other.first_reserve_bytes_;
    base_ = std::exchange(other.base_, nullptr);
    reserved_ = std::exchange(other.reserved_, 0);
    committed_ = std::exchange(other.committed_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MmapGrower::Unmap() { rusty_malloc::Unmap(base_, reserved_); }

bool MmapGrower::Reserve() {
  // Under ASan and TSan all at once (kReservationsCanExtend).
  const bool lazy =
      first_reserve_bytes_ < reserve_bytes_ && kReservationsCanExtend;
  const std::size_t want = lazy ? first_reserve_bytes_ : reserve_bytes_;
  std::size_t bytes = RoundUp(want, OsPageSize());
  if (bytes == 0 || bytes < want) return false;
  // Address space can be limited (ulimit -v, valgrind): settle for less,
  // halving down to a floor, rather than having no heap at all.
  const std::size_t floor = lazy ? OsPageSize() : 16 << 20;
  for (;;) {
    void* range = lazy ? ReserveToExtend(bytes) : rusty_malloc::Reserve(bytes);
    if (range != nullptr) {
      base_ = static_cast<std::byte*>(range);
      reserved_ = bytes;
      return true;
    }
    if (bytes <= floor) return false;
    bytes = RoundUp(bytes / 2, OsPageSize());
  }
}

bool MmapGrower::Extend(std::size_t bytes) {
  const std::size_t room = reserve_bytes_ - reserved_;
  if (reserve_bytes_ <= reserved_ || bytes > room) return false;
  const std::size_t need = RoundUp(bytes, OsPageSize());
  if (need > room) return false;
  // Double; failing that (address space short, or taken part of the way
  // up), just what this growth needs.
  const std::size_t doubled = std::min(std::max(reserved_, need), room);
  for (const std::size_t add : {doubled, need}) {
    if (ReserveAt(base_ + reserved_, add)) {
      reserved_ += add;
      return true;
    }
    if (add == need) break;
  }
  return false;
}

std::size_t MmapGrower::Grow(std::size_t min_bytes) {
  RUSTY_MALLOC_DCHECK(min_bytes != 0 && min_bytes % kGrowerAlignment == 0,
                      nullptr);
  if (base_ == nullptr && !Reserve()) return 0;
  if (min_bytes > reserved_ - size_ &&
      !Extend(min_bytes - (reserved_ - size_))) {
    return 0;
  }
  if (size_ + min_bytes > committed_) {
    std::size_t target = RoundUp(size_ + min_bytes, OsPageSize());
    const std::size_t stepped =
        RoundUp(committed_ + commit_step_, OsPageSize());
    if (stepped > target && stepped <= reserved_) target = stepped;
    if (!Commit(base_ + committed_, target - committed_)) return 0;
    committed_ = target;
  }
  // Hand over everything committed: the allocator would only ask again.
  const std::size_t added = committed_ - size_;
  size_ = committed_;
  return added;
}

void MmapGrower::Decommit(std::byte* p, std::size_t bytes) {
  rusty_malloc::Decommit(p, bytes);
}

bool MmapGrower::Shrink(std::size_t bytes) {
  RUSTY_MALLOC_DCHECK(bytes % kGrowerAlignment == 0, nullptr);
  if (bytes > size_) return false;
  size_ -= bytes;
  const std::size_t keep = RoundUp(size_, OsPageSize());
  if (keep < committed_) {
    // Mapping fresh PROT_NONE pages over the tail drops their contents and
    // their commit charge in one call, and keeps the reservation intact.
    if (ReplaceWithReserved(base_ + keep, committed_ - keep)) {
      committed_ = keep;
    }
  }
  return true;
}

}  // namespace rusty_malloc

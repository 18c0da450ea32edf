#include "growers/mmap_grower.h"

#include <sys/mman.h>
#include <unistd.h>

#include <utility>

namespace rusty_malloc {
namespace {

std::size_t PageSize() {
  static const std::size_t page =
      static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

std::size_t RoundUp(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

MmapGrower& MmapGrower::operator=(MmapGrower&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) Unmap();
    reserve_bytes_ = other.reserve_bytes_;
    commit_step_ = other.commit_step_;
    base_ = std::exchange(other.base_, nullptr);
    reserved_ = std::exchange(other.reserved_, 0);
    committed_ = std::exchange(other.committed_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MmapGrower::Unmap() { munmap(base_, reserved_); }

bool MmapGrower::Reserve() {
  std::size_t bytes = RoundUp(reserve_bytes_, PageSize());
  if (bytes == 0 || bytes < reserve_bytes_) return false;
  // Address space can be limited (ulimit -v, valgrind): settle for less,
  // halving down to a floor, rather than having no heap at all.
  constexpr std::size_t kFloor = 16 << 20;
  for (;;) {
    void* range = mmap(nullptr, bytes, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (range != MAP_FAILED) {
      base_ = static_cast<std::byte*>(range);
      reserved_ = bytes;
      return true;
    }
    if (bytes <= kFloor) return false;
    bytes = RoundUp(bytes / 2, PageSize());
  }
}

std::size_t MmapGrower::Grow(std::size_t min_bytes) {
  if (base_ == nullptr && !Reserve()) return 0;
  if (min_bytes > reserved_ - size_) return 0;
  if (size_ + min_bytes > committed_) {
    std::size_t target = RoundUp(size_ + min_bytes, PageSize());
    const std::size_t stepped = RoundUp(committed_ + commit_step_, PageSize());
    if (stepped > target && stepped <= reserved_) target = stepped;
    if (mprotect(base_ + committed_, target - committed_,
                 PROT_READ | PROT_WRITE) != 0) {
      return 0;
    }
    committed_ = target;
  }
  // Hand over everything committed: the allocator would only ask again.
  const std::size_t added = committed_ - size_;
  size_ = committed_;
  return added;
}

bool MmapGrower::Shrink(std::size_t bytes) {
  if (bytes > size_) return false;
  size_ -= bytes;
  const std::size_t keep = RoundUp(size_, PageSize());
  if (keep < committed_) {
    // Mapping fresh PROT_NONE pages over the tail drops their contents and
    // their commit charge in one call, and keeps the reservation intact.
    void* tail =
        mmap(base_ + keep, committed_ - keep, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (tail != MAP_FAILED) committed_ = keep;
  }
  return true;
}

}  // namespace rusty_malloc

#include "growers/mmap_grower.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
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

// ASan and TSan own the address space's layout (their shadows cover the
// hint below, and TSan allows the program only a few ranges): there a lazy
// reservation would rarely find room above it, so it reserves everything
// at once, as before. Neither limit it serves (ulimit -v, mlockall) is one
// a sanitized build runs under.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerOwnsLayout = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerOwnsLayout = true;
#else
constexpr bool kSanitizerOwnsLayout = false;
#endif
#else
constexpr bool kSanitizerOwnsLayout = false;
#endif

// Where a lazily reserved heap asks to start: from 16 TiB up, one TiB apart
// per grower, far above the program break and far below the kernel's
// top-down mappings, so the addresses above it stay free to extend into.
// Only a hint: where it is taken (a sanitizer's shadow, another heap), the
// kernel picks and in-place growth may end sooner.
void* Hint() {
  static std::atomic<unsigned> next{0};
  const unsigned slot = next.fetch_add(1, std::memory_order_relaxed) % 64;
  return reinterpret_cast<void*>((std::uintptr_t{16} << 40) +
                                 (std::uintptr_t{slot} << 40));
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

void MmapGrower::Unmap() { munmap(base_, reserved_); }

bool MmapGrower::Reserve() {
  const bool lazy =
      first_reserve_bytes_ < reserve_bytes_ && !kSanitizerOwnsLayout;
  const std::size_t want = lazy ? first_reserve_bytes_ : reserve_bytes_;
  std::size_t bytes = RoundUp(want, PageSize());
  if (bytes == 0 || bytes < want) return false;
  // Address space can be limited (ulimit -v, valgrind): settle for less,
  // halving down to a floor, rather than having no heap at all.
  const std::size_t floor = lazy ? PageSize() : 16 << 20;
  for (;;) {
    void* range = mmap(lazy ? Hint() : nullptr, bytes, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (range != MAP_FAILED) {
      base_ = static_cast<std::byte*>(range);
      reserved_ = bytes;
      return true;
    }
    if (bytes <= floor) return false;
    bytes = RoundUp(bytes / 2, PageSize());
  }
}

bool MmapGrower::Extend(std::size_t bytes) {
  const std::size_t room = reserve_bytes_ - reserved_;
  if (reserve_bytes_ <= reserved_ || bytes > room) return false;
  const std::size_t need = RoundUp(bytes, PageSize());
  if (need > room) return false;
  // Double; failing that (address space short, or taken part of the way
  // up), just what this growth needs.
  const std::size_t doubled = std::min(std::max(reserved_, need), room);
  for (const std::size_t add : {doubled, need}) {
    void* at = base_ + reserved_;
    void* got =
        mmap(at, add, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
             -1, 0);
    if (got == at) {
      reserved_ += add;
      return true;
    }
    // A kernel before 4.17 takes the flag for a hint.
    if (got != MAP_FAILED) munmap(got, add);
    if (add == need) break;
  }
  return false;
}

std::size_t MmapGrower::Grow(std::size_t min_bytes) {
  if (base_ == nullptr && !Reserve()) return 0;
  if (min_bytes > reserved_ - size_ &&
      !Extend(min_bytes - (reserved_ - size_))) {
    return 0;
  }
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

void MmapGrower::Decommit(std::byte* p, std::size_t bytes) {
  // Best effort: on failure the pages just stay resident.
  madvise(p, bytes, MADV_DONTNEED);
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

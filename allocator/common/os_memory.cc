#include "allocator/common/os_memory.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>

namespace rusty_malloc {
namespace {

constexpr int kPrivate = MAP_PRIVATE | MAP_ANONYMOUS;
// Reserved address space is never written before it is committed, so it
// needs no commit charge (and no swap) set aside.
constexpr int kReserved = kPrivate | MAP_NORESERVE;

void* OrNull(void* mapped) { return mapped == MAP_FAILED ? nullptr : mapped; }

// From 16 TiB up, one TiB apart per reservation, far above the program
// break and far below the kernel's top-down mappings, so the addresses above
// stay free to extend into. Only a hint: where it is taken (a sanitizer's
// shadow, another heap), the kernel picks and in-place growth may end
// sooner.
void* ExtensibleHint() {
  static std::atomic<unsigned> next{0};
  const unsigned slot = next.fetch_add(1, std::memory_order_relaxed) % 64;
  return reinterpret_cast<void*>((std::uintptr_t{16} << 40) +
                                 (std::uintptr_t{slot} << 40));
}

}  // namespace

void* Map(std::size_t bytes) {
  return OrNull(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, kPrivate, -1, 0));
}

void* Reserve(std::size_t bytes) {
  return OrNull(mmap(nullptr, bytes, PROT_NONE, kReserved, -1, 0));
}

void* ReserveToExtend(std::size_t bytes) {
  return OrNull(mmap(ExtensibleHint(), bytes, PROT_NONE, kReserved, -1, 0));
}

bool ReserveAt(void* at, std::size_t bytes) {
  void* got =
      mmap(at, bytes, PROT_NONE, kReserved | MAP_FIXED_NOREPLACE, -1, 0);
  if (got == at) return true;
  // A kernel before 4.17 takes the flag for a hint.
  if (got != MAP_FAILED) munmap(got, bytes);
  return false;
}

bool ReplaceWithReserved(void* p, std::size_t bytes) {
  return mmap(p, bytes, PROT_NONE, kReserved | MAP_FIXED, -1, 0) != MAP_FAILED;
}

bool Commit(void* p, std::size_t bytes) {
  return mprotect(p, bytes, PROT_READ | PROT_WRITE) == 0;
}

void Decommit(void* p, std::size_t bytes) { madvise(p, bytes, MADV_DONTNEED); }

bool RestoreFreshAttributes(void* p, std::size_t bytes) {
  if (!Commit(p, bytes)) return false;
  madvise(p, bytes, MADV_DOFORK);
  munlock(p, bytes);
  return true;
}

void* Remap(void* p, std::size_t old_bytes, std::size_t new_bytes) {
  return OrNull(mremap(p, old_bytes, new_bytes, MREMAP_MAYMOVE));
}

void Unmap(void* p, std::size_t bytes) { munmap(p, bytes); }

}  // namespace rusty_malloc

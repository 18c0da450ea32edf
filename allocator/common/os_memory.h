#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_OS_MEMORY_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_OS_MEMORY_H_

#include <unistd.h>

#include <cstddef>

// The one place that asks the OS for memory and gives it back (mmap,
// munmap, mprotect, madvise, mremap, munlock), for every heap and grower.
// Nothing here allocates: malloc's own paths call it. Mappings are private
// and anonymous. What fails returns nullptr or false with the kernel's errno;
// what is best effort returns nothing.

namespace rusty_malloc {

// The kernel's page size (4 KiB on x86-64, up to 64 KiB on arm64): what
// madvise, munmap and mremap round to. Not the per-thread allocator's
// 64 KiB page (kPageSize, per_thread/chunk.h).
inline std::size_t OsPageSize() {
  static const std::size_t page =
      static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// The smallest OS page size, for what must be known at compile time: every
// mapping starts on a multiple of it.
inline constexpr std::size_t kOsPage = 4096;

// Whether ReserveToExtend can leave room above a reservation. ASan and TSan
// own the address space's layout (their shadows cover ReserveToExtend's
// hint, and TSan allows the program only a few ranges): there a
// reservation would rarely find room above it, so callers reserve all they
// may need at once. Neither limit that reserving lazily serves (ulimit -v,
// mlockall) is one a sanitized build runs under.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kReservationsCanExtend = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kReservationsCanExtend = false;
#else
inline constexpr bool kReservationsCanExtend = true;
#endif
#else
inline constexpr bool kReservationsCanExtend = true;
#endif

// `bytes` of readable, writable memory, zero until written.
[[nodiscard]] void* Map(std::size_t bytes);

// `bytes` of address space, inaccessible until committed: it costs no
// memory and no commit charge, so a heap can reserve its whole range up
// front.
[[nodiscard]] void* Reserve(std::size_t bytes);

// As Reserve, but far from where the kernel places other mappings, so that
// ReserveAt can extend it in place for a long way (kReservationsCanExtend).
[[nodiscard]] void* ReserveToExtend(std::size_t bytes);

// Reserves `bytes` at exactly `at`, never over an existing mapping; false
// when the addresses are taken.
[[nodiscard]] bool ReserveAt(void* at, std::size_t bytes);

// Makes committed pages of a reservation reserved again: one call drops
// their contents and their commit charge, and keeps the addresses.
[[nodiscard]] bool ReplaceWithReserved(void* p, std::size_t bytes);

// Makes reserved pages readable and writable.
[[nodiscard]] bool Commit(void* p, std::size_t bytes);

// Gives the memory behind committed pages back to the OS; they stay
// readable and writable and read as zero when next touched. Best effort:
// on failure they just stay resident.
void Decommit(void* p, std::size_t bytes);

// Undoes what a program may have done to pages it was given (mprotect,
// MADV_DONTFORK, mlock), so that the next owner gets a fresh mapping's
// attributes. False when they cannot be made readable and writable.
[[nodiscard]] bool RestoreFreshAttributes(void* p, std::size_t bytes);

// Resizes the mapping at `p` from `old_bytes` to `new_bytes`, in place
// when the kernel can and moved (by its page tables, not copied) when not:
// the new address, or nullptr with the mapping unchanged.
[[nodiscard]] void* Remap(void* p, std::size_t old_bytes,
                          std::size_t new_bytes);

// Gives back the mapped or reserved [p, p + bytes).
void Unmap(void* p, std::size_t bytes);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_OS_MEMORY_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_HEAP_H_

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace rusty_malloc {

// What every heap of this library is: RawMalloc and RustyMalloc over any
// grower, PerThreadMalloc, and the heaps a PerThreadMalloc sends its other
// sizes to. The C interface (drop_in/c_api.h) and the C++ adaptors
// (adaptors/) run on any Heap.
//
// - Allocate(size, align): a block of at least `size` bytes aligned to
//   `align` (a power of two), or nullptr, for any reason, with nothing
//   changed: a bad alignment, a size past what the heap can represent, or no
//   memory.
// - Deallocate(ptr): frees what Allocate or Reallocate returned; nullptr is
//   a no-op. A pointer the heap never gave, or one freed already, is misuse
//   the heap reports where it can tell (ReportMisuse) and never silently
//   corrupts memory over.
// - Reallocate(ptr, size, align): moves or resizes, keeping the contents up
//   to the smaller size; nullptr, with `ptr` untouched, on failure.
// - UsableSize(ptr): the bytes the block holds (at least what was asked).
template <typename H>
concept Heap = requires(H& heap, void* ptr, std::size_t n) {
  { heap.Allocate(n, n) } -> std::same_as<void*>;
  heap.Deallocate(ptr);
  { heap.Reallocate(ptr, n, n) } -> std::same_as<void*>;
  { heap.UsableSize(ptr) } -> std::convertible_to<std::size_t>;
};

// The optional abilities a heap may add, by name, for callers to test with
// `if constexpr`; a heap without one gets the general path.

// TryAllocateFast(size, align): the allocation fast path alone, nullptr (and
// nothing done) when it would take more; the caller then calls Allocate. It
// keeps the callers' failure handling out of the fast path.
template <typename H>
concept HasFastPath = requires(H& heap, std::size_t n) {
  { heap.TryAllocateFast(n, n) } -> std::same_as<void*>;
};

// AllocateZeroed(size): Allocate at the malloc alignment with every byte
// zero, writing only memory that may hold old data.
template <typename H>
concept HasZeroedAllocation = requires(H& heap, std::size_t n) {
  { heap.AllocateZeroed(n) } -> std::same_as<void*>;
};

// DeallocateSized(ptr, size): Deallocate, told the size asked for, so it can
// skip a lookup; it still checks the block, so a wrong size is misuse
// reported, not corruption.
template <typename H>
concept HasSizedFree = requires(H& heap, void* ptr, std::size_t n) {
  heap.DeallocateSized(ptr, n);
};

// ReleaseFreeMemory(): gives the free memory kept for reuse back to the OS
// now (malloc_trim).
template <typename H>
concept CanReleaseFreeMemory = requires(H& heap) {
  heap.ReleaseFreeMemory();
};

// PurgeIfDue(now): gives back the free memory kept longer than the purge
// delay, `now` being CoarseNowNs().
template <typename H>
concept CanPurgeWhenDue = requires(H& heap, std::int64_t now) {
  heap.PurgeIfDue(now);
};

// Decommit(ptr, bytes): a memory source (a chunk source, a grower) that can
// give the memory of a range it handed out back to the OS, keeping the
// range's addresses; reading it afterwards gives zeros.
template <typename M>
concept CanDecommit = requires(M& memory, void* ptr, std::size_t n) {
  memory.Decommit(ptr, n);
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_HEAP_H_

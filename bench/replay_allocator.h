#ifndef RUSTY_MALLOC_BENCH_REPLAY_ALLOCATOR_H_
#define RUSTY_MALLOC_BENCH_REPLAY_ALLOCATOR_H_

// The allocators the replayer (replay.h) runs a trace on, behind one
// interface: the process's own malloc and operator new ("system", so that
// LD_PRELOAD picks glibc, jemalloc, tcmalloc, mimalloc or librusty_malloc),
// or one of this project's heaps as a local instance, with the C interface's
// semantics (allocator/drop_in/c_api.h) over it. Every allocator here is
// called from all the replay threads at once.

#include <cstddef>
#include <memory>
#include <string_view>

namespace rusty_malloc::replay {

// The names --allocator takes, for the usage text.
inline constexpr std::string_view kAllocatorNames =
    "system, per_thread, locked, raw_mmap, raw_brk";

// One call of the C or C++ allocation interface each. Allocations return
// nullptr on failure and never throw.
class Allocator {
 public:
  virtual ~Allocator() = default;

  virtual void* Malloc(std::size_t size) = 0;
  virtual void* Calloc(std::size_t count, std::size_t size) = 0;
  virtual void* Realloc(void* ptr, std::size_t size) = 0;
  // posix_memalign, with the recorded `align` made valid first: rounded up
  // to a power of two, at least sizeof(void*) (nullptr, with no call, when
  // no such power of two exists).
  virtual void* AlignedAlloc(std::size_t align, std::size_t size) = 0;
  virtual void Free(void* ptr) = 0;
  // free_sized where the allocator has it, else free.
  virtual void FreeSized(void* ptr, std::size_t size) = 0;
  virtual std::size_t UsableSize(void* ptr) = 0;
  // The nothrow operator new for a recorded kNew: `align` 0 for the default
  // form, else the align_val_t form with `align` rounded up to a power of
  // two (nullptr, with no call, when none exists).
  virtual void* New(std::size_t size, std::size_t align) = 0;
  // operator delete of the form that matches New(size, `align`).
  virtual void Delete(void* ptr, std::size_t align) = 0;
  virtual void DeleteSized(void* ptr, std::size_t size, std::size_t align) = 0;
};

// A new allocator of that name (kAllocatorNames), or nullptr for an unknown
// name. The heaps are fresh instances: blocks they still hold die with them.
[[nodiscard]] std::unique_ptr<Allocator> MakeAllocator(std::string_view name);

}  // namespace rusty_malloc::replay

#endif  // RUSTY_MALLOC_BENCH_REPLAY_ALLOCATOR_H_

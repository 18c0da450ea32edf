// Part of malloc_fuzzer (fuzz/malloc_fuzzer.cc): the model of the heap's
// live blocks that every family of operations checks against, declared in
// one place so that each family (allocate_ops.cc, realloc_ops.cc,
// aligned_ops.cc, new_ops.cc, scale_ops.cc, trim_ops.cc, stats_ops.cc)
// can live in a file of its own; model.cc keeps the bookkeeping they share.
// The op table that maps input bytes to them is malloc_fuzzer.cc's.

#ifndef RUSTY_MALLOC_FUZZ_C_INTERFACE_MODEL_H_
#define RUSTY_MALLOC_FUZZ_C_INTERFACE_MODEL_H_

// The model's map is not what is being fuzzed. First, so that this region
// is where its templates are defined: every file of the harness but
// decode.cc includes this header before any other (clang fails the build
// if a function in the region was defined before it, or if the region is
// left empty), so it includes what all of them use.
#include "testing/no_coverage.h"
RUSTY_MALLOC_NO_COVERAGE_BEGIN
#include <map>
#include <memory_resource>
RUSTY_MALLOC_NO_COVERAGE_END

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/common/tunables.h"
#include "allocator/drop_in/c_api.h"
#include "allocator/drop_in/mallopt.h"
#include "allocator/drop_in/operator_new.h"
#include "allocator/drop_in/stats_format.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "fuzz/c_interface/block.h"
#include "fuzz/c_interface/decode.h"
#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing::c_interface {

using Heap = PerThreadMalloc<MmapChunkSource>;

// Bounds the work one input may ask for, in operations, blocks allocated or
// freed and pages written (about a microsecond each under ASan), so that no
// input runs long: the rest of a long input is ignored.
constexpr std::size_t kWorkPerInput = 1024;
// Set before each call, so a function that should leave errno alone is
// caught changing it.
constexpr int kErrnoSentinel = 4242;

inline const std::size_t kPage =
    static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

class Model {
 public:
  Model(Heap& heap, std::pmr::memory_resource* pool)
      : heap_(heap),
        ranges_(pool),
        retained_bytes_max_(TheTunables().retained_bytes_max.load()) {}
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  // Runs the operations `in` decodes until the input or the work budget
  // runs out, then frees every block and checks the heap.
  void Run(FuzzInput& in);

 private:
  // The op table (malloc_fuzzer.cc): one input byte picks each operation.
  void Step(FuzzInput& in);

  // The bookkeeping every family shares (model.cc).
  [[noreturn]] static void Fail(const char* what, std::size_t a = 0,
                                std::size_t b = 0) {
    Require(std::string(what) + " (" + std::to_string(a) + ", " +
            std::to_string(b) + ")");
    __builtin_unreachable();
  }

  // The most the next request may add: bounded by live memory, and by the
  // work left to this input (a request's pages are written about twice:
  // by the heap or calloc, then by the model).
  std::size_t Budget() const {
    const std::size_t work_left =
        work_ < kWorkPerInput ? (kWorkPerInput - work_) * kPage / 2 : 0;
    return std::min(kLiveCap - live_bytes_, work_left);
  }

  // What a request for `size` at `align` would add to live memory, or
  // SIZE_MAX for a request that must fail.
  static std::size_t Cost(std::size_t size, std::size_t align) {
    if (size >= kImpossible || align >= kImpossibleAlign) return SIZE_MAX;
    return size + (align > 16 ? align : 0);
  }

  static void ExpectErrno(const char* op, int expected) {
    if (errno != expected) {
      Fail(op, static_cast<std::size_t>(errno),
           static_cast<std::size_t>(expected));
    }
  }

  static void CheckContents(const Block& b, std::size_t upto, const char* what);
  void CheckZero(const std::byte* p, std::size_t size, const char* what);
  void Admit(void* raw, std::size_t size, std::size_t align, Kind kind,
             const char* op);
  void Forget(std::size_t index);
  void Release(std::size_t index, bool sized);
  void FreeAll();
  void Expect(void* p, int failure, std::size_t size, std::size_t align,
              const char* op);
  std::size_t PickC(FuzzInput& in);
  std::size_t ChunkBytes(const HeapStats& stats);

  // malloc, calloc, free and the checks of one block (allocate_ops.cc).
  void Malloc(FuzzInput& in);
  void Calloc(FuzzInput& in);
  void DirtyThenCalloc(FuzzInput& in);
  void Free(FuzzInput& in);
  void CheckBlock(FuzzInput& in);
  void FreeSized(FuzzInput& in);

  // realloc and reallocarray (realloc_ops.cc).
  void ReallocTo(std::size_t index, std::size_t bytes, bool fails,
                 void* (*call)(Heap&, void*, void*), void* arg, const char* op);
  void Realloc(FuzzInput& in);
  void ReallocArray(FuzzInput& in);

  // memalign, aligned_alloc, posix_memalign, valloc and pvalloc
  // (aligned_ops.cc).
  static int MemalignVerdict(std::size_t align, std::size_t size,
                             std::size_t* served);
  // An aligned request and its verdict: memalign's, for a function that
  // takes the alignments `valid` accepts (EINVAL for the others).
  struct AlignedRequest {
    std::size_t align;
    std::size_t size;
    std::size_t served;  // The alignment a success must have.
    int verdict;
  };
  std::optional<AlignedRequest> DecodeAligned(FuzzInput& in,
                                              bool (*valid)(std::size_t));
  void Memalign(FuzzInput& in);
  void AlignedAlloc(FuzzInput& in);
  void PosixMemalign(FuzzInput& in);
  void Valloc(FuzzInput& in);
  void Pvalloc(FuzzInput& in);

  // operator new and the new-handler (new_ops.cc).
  void New(FuzzInput& in);
  void NewHandler(FuzzInput& in);
  void NewMaybeWithHandler(FuzzInput& in);

  // At scale: thousands of blocks, long realloc chains (scale_ops.cc).
  void AllocateMany(FuzzInput& in);
  void FreeEveryOther(FuzzInput& in);
  void ReallocGrow(FuzzInput& in);

  // malloc_trim and mallopt (trim_ops.cc).
  void MallocTrim(FuzzInput& in);
  void Mallopt(FuzzInput& in);

  // The statistics functions (stats_ops.cc).
  void Statistics(FuzzInput& in);
  static void CheckFormatted(int length, const char* text, std::size_t size);

  Heap& heap_;
  std::vector<Block> live_;
  // Live blocks' usable extents. Its nodes come from a pool: one sanitizer
  // malloc per node would cost more than the heap operation it checks.
  std::pmr::map<std::byte*, std::byte*> ranges_;
  std::size_t live_bytes_ = 0;
  std::size_t usable_bytes_ = 0;  // The live blocks' usable sizes.
  std::uint64_t next_id_ = 0;
  std::size_t work_ = 0;
  // The retained-memory bound before the input, which mallopt may change.
  const std::size_t retained_bytes_max_;
};

}  // namespace rusty_malloc::fuzzing::c_interface

#endif  // RUSTY_MALLOC_FUZZ_C_INTERFACE_MODEL_H_

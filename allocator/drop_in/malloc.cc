// The C allocation interface on the global heap, with glibc's documented
// behaviour at every corner: errno is ENOMEM on failure, realloc(p, 0) frees
// and returns nullptr, posix_memalign reports EINVAL for a bad alignment,
// memalign rounds a non-power-of-two alignment up, and so on. The semantics
// live in c_api.h, where a fuzzer drives them on a local heap.

#include "allocator/drop_in/malloc.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "allocator/common/log_line.h"
#include "allocator/common/tunables.h"
#include "allocator/drop_in/c_api.h"
#include "allocator/drop_in/global_heap.h"
#include "allocator/drop_in/mallopt.h"
#include "allocator/drop_in/runtime_options.h"
#include "allocator/drop_in/stats_format.h"
#include "allocator/drop_in/traced_calls.h"

namespace rusty_malloc {

HeapStats MallocStats() { return TheGlobalHeap().Stats(); }
HeapReport MallocVerify() { return TheGlobalHeap().Verify(); }

}  // namespace rusty_malloc

using rusty_malloc::TheGlobalHeap;
namespace c_api = rusty_malloc::c_api;

namespace {

// Writes the global heap's statistics to stderr in one of stats_format.h's
// shapes, formatted on the stack (no allocation, so usable at exit).
void WriteStats(int (*format)(const rusty_malloc::HeapStats&, char*,
                              std::size_t)) {
  char text[640];
  const int length = format(TheGlobalHeap().Stats(), text, sizeof(text));
  if (length <= 0) return;
  rusty_malloc::WriteToStderr(
      text, std::min(static_cast<std::size_t>(length), sizeof(text) - 1));
}

}  // namespace

namespace {

using rusty_malloc::Tracing;
using rusty_malloc::c_api::kMallocAlignment;
using rusty_malloc::trace::Op;

rusty_malloc::trace::Recorder& Recorder() {
  return rusty_malloc::TheRecorder();
}

// Out of line and recorded (traced_calls.h): where malloc goes when its
// fast path misses, which is every call while a trace is recorded.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void* TracedMalloc(size_t size) {
  void* p =
      c_api::AllocateOrNoMemorySlow(size, kMallocAlignment, TheGlobalHeap());
  Recorder().Allocated(Op::kMalloc, 0, size, p);
  return p;
}
ABSL_ATTRIBUTE_NOINLINE void* MallocSlow(size_t size) {
  if (ABSL_PREDICT_FALSE(Tracing())) return TracedMalloc(size);
  return c_api::AllocateOrNoMemorySlow(size, kMallocAlignment, TheGlobalHeap());
}

// free's path for a block outside the calling thread's cached chunk.
ABSL_ATTRIBUTE_NOINLINE void FreeElsewhere(void* ptr) noexcept {
  if (ABSL_PREDICT_FALSE(Tracing())) Recorder().Freeing(Op::kFree, ptr, 0);
  rusty_malloc::DeallocateNotLocal(TheGlobalHeap(), ptr);
}

ABSL_ATTRIBUTE_COLD void* TracedRealloc(void* ptr, size_t size) {
  const std::uint64_t old_id = Recorder().TakeForRealloc(ptr);
  void* p = c_api::Realloc(TheGlobalHeap(), ptr, size);
  Recorder().Reallocated(ptr, old_id, size, p);
  return p;
}

// An allocation of `align`, recorded as kAlignedAlloc when a trace is.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void* RecordedAligned(size_t align,
                                                          size_t size,
                                                          void* p) {
  if (ABSL_PREDICT_FALSE(Tracing())) {
    Recorder().Allocated(Op::kAlignedAlloc, align, size, p);
  }
  return p;
}

}  // namespace

extern "C" {

void* malloc(size_t size) {
  if (void* p =
          c_api::TryAllocateFast(TheGlobalHeap(), size, kMallocAlignment)) {
    return p;
  }
  return MallocSlow(size);
}

void free(void* ptr) {
  rusty_malloc::DeallocateOr(TheGlobalHeap(), ptr, FreeElsewhere);
}

void free_sized(void* ptr, size_t size) {
  if (ABSL_PREDICT_FALSE(Tracing())) {
    Recorder().Freeing(Op::kFreeSized, ptr, size);
  }
  c_api::FreeSized(TheGlobalHeap(), ptr, size);
}

// A block's size decides where it lives whatever its alignment.
void free_aligned_sized(void* ptr, size_t, size_t size) {
  free_sized(ptr, size);
}

void* calloc(size_t count, size_t size) {
  void* p = c_api::Calloc(TheGlobalHeap(), count, size);
  if (ABSL_PREDICT_FALSE(Tracing())) {
    Recorder().Allocated(Op::kCalloc, count, size, p);
  }
  return p;
}

void* realloc(void* ptr, size_t size) {
  if (ABSL_PREDICT_FALSE(Tracing())) return TracedRealloc(ptr, size);
  return c_api::Realloc(TheGlobalHeap(), ptr, size);
}

void* reallocarray(void* ptr, size_t count, size_t size) {
  size_t bytes;
  // An overflow fails before anything happens: nothing to record.
  if (ABSL_PREDICT_FALSE(Tracing()) &&
      !rusty_malloc::c_api::MultiplyOverflows(count, size, &bytes)) {
    return TracedRealloc(ptr, bytes);
  }
  return c_api::ReallocArray(TheGlobalHeap(), ptr, count, size);
}

void* aligned_alloc(size_t align, size_t size) {
  return RecordedAligned(align, size,
                         c_api::AlignedAlloc(TheGlobalHeap(), align, size));
}

int posix_memalign(void** out, size_t align, size_t size) {
  const int result = c_api::PosixMemalign(TheGlobalHeap(), out, align, size);
  RecordedAligned(align, size, result == 0 ? *out : nullptr);
  return result;
}

void* memalign(size_t align, size_t size) {
  return RecordedAligned(align, size,
                         c_api::Memalign(TheGlobalHeap(), align, size));
}

void* valloc(size_t size) {
  return RecordedAligned(rusty_malloc::OsPageSize(), size,
                         c_api::Valloc(TheGlobalHeap(), size));
}

void* pvalloc(size_t size) {
  return RecordedAligned(rusty_malloc::OsPageSize(), size,
                         c_api::Pvalloc(TheGlobalHeap(), size));
}

size_t malloc_usable_size(void* ptr) {
  if (ABSL_PREDICT_FALSE(Tracing())) Recorder().UsableSize(ptr);
  return c_api::MallocUsableSize(TheGlobalHeap(), ptr);
}

int malloc_trim(size_t pad) { return c_api::MallocTrim(TheGlobalHeap(), pad); }

struct mallinfo2 mallinfo2(void) {
  return rusty_malloc::ToMallinfo2(TheGlobalHeap().Stats());
}

struct mallinfo mallinfo(void) {
  return rusty_malloc::ToMallinfo(mallinfo2());
}

void malloc_stats(void) { WriteStats(rusty_malloc::FormatGlibcMallocStats); }

int malloc_info(int options, FILE* out) {
  // glibc's only check (no options are defined yet), reported as glibc
  // does: the error number as the result, errno untouched.
  if (options != 0) return EINVAL;
  return rusty_malloc::WriteGlibcMallocInfo(TheGlobalHeap().Stats(), out) < 0
             ? -1
             : 0;
}

int mallopt(int param, int value) {
  return rusty_malloc::ApplyMallopt(param, value, rusty_malloc::TheTunables())
             ? 1
             : 0;
}

int rusty_malloc_owns(const void* ptr) {
  return ptr != nullptr && TheGlobalHeap().IsLiveBlock(ptr);
}

int rusty_malloc_verify(void) {
  const rusty_malloc::HeapReport report = TheGlobalHeap().Verify();
  if (report.ok()) return 1;
  rusty_malloc::LogLine("%s at %p", report.broken, report.where);
  return 0;
}

void rusty_malloc_print_stats(void) {
  WriteStats(rusty_malloc::FormatStatsText);
}

}  // extern "C"

namespace {

// RUSTY_MALLOC_STATS prints the heap's statistics at exit: a cheap way to
// see that a program really ran on this allocator, and what it kept.
__attribute__((destructor)) void MaybePrintStats() {
  switch (rusty_malloc::TheDropInOptions().stats_at_exit) {
    case rusty_malloc::StatsFormat::kNone:
      return;
    case rusty_malloc::StatsFormat::kText:
      return WriteStats(rusty_malloc::FormatStatsText);
    case rusty_malloc::StatsFormat::kJson:
      return WriteStats(rusty_malloc::FormatStatsJson);
  }
}

}  // namespace

// The C allocation interface on the global heap, with glibc's documented
// behaviour at every corner: errno is ENOMEM on failure, realloc(p, 0) frees
// and returns nullptr, posix_memalign reports EINVAL for a bad alignment,
// memalign rounds a non-power-of-two alignment up, and so on. The semantics
// live in c_api.h, where a fuzzer drives them on a local heap.

#include "allocator/drop_in/malloc.h"

#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>

#include "allocator/drop_in/c_api.h"
#include "allocator/drop_in/global_heap.h"

namespace rusty_malloc {

HeapStats MallocStats() { return TheGlobalHeap().Stats(); }
HeapReport MallocVerify() { return TheGlobalHeap().Verify(); }

}  // namespace rusty_malloc

using rusty_malloc::TheGlobalHeap;
namespace c_api = rusty_malloc::c_api;

extern "C" {

void* malloc(size_t size) { return c_api::Malloc(TheGlobalHeap(), size); }

void free(void* ptr) { c_api::Free(TheGlobalHeap(), ptr); }

void free_sized(void* ptr, size_t size) {
  c_api::FreeSized(TheGlobalHeap(), ptr, size);
}

// A block's size decides where it lives whatever its alignment.
void free_aligned_sized(void* ptr, size_t, size_t size) {
  c_api::FreeSized(TheGlobalHeap(), ptr, size);
}

void* calloc(size_t count, size_t size) {
  return c_api::Calloc(TheGlobalHeap(), count, size);
}

void* realloc(void* ptr, size_t size) {
  return c_api::Realloc(TheGlobalHeap(), ptr, size);
}

void* reallocarray(void* ptr, size_t count, size_t size) {
  return c_api::ReallocArray(TheGlobalHeap(), ptr, count, size);
}

void* aligned_alloc(size_t align, size_t size) {
  return c_api::AlignedAlloc(TheGlobalHeap(), align, size);
}

int posix_memalign(void** out, size_t align, size_t size) {
  return c_api::PosixMemalign(TheGlobalHeap(), out, align, size);
}

void* memalign(size_t align, size_t size) {
  return c_api::Memalign(TheGlobalHeap(), align, size);
}

void* valloc(size_t size) { return c_api::Valloc(TheGlobalHeap(), size); }

void* pvalloc(size_t size) { return c_api::Pvalloc(TheGlobalHeap(), size); }

size_t malloc_usable_size(void* ptr) {
  return c_api::MallocUsableSize(TheGlobalHeap(), ptr);
}

int malloc_trim(size_t pad) { return c_api::MallocTrim(TheGlobalHeap(), pad); }

int rusty_malloc_owns(const void* ptr) {
  return ptr != nullptr && TheGlobalHeap().IsLiveBlock(ptr);
}

int rusty_malloc_verify(void) {
  const rusty_malloc::HeapReport report = TheGlobalHeap().Verify();
  if (report.ok()) return 1;
  char line[256];
  const int n = std::snprintf(line, sizeof(line), "rusty_malloc: %s at %p\n",
                              report.broken, report.where);
  if (n > 0) {
    const ssize_t ignored = write(STDERR_FILENO, line, static_cast<size_t>(n));
    (void)ignored;
  }
  return 0;
}

void rusty_malloc_print_stats(void) {
  const rusty_malloc::HeapStats s = TheGlobalHeap().Stats();
  char line[320];
  const int n = std::snprintf(
      line, sizeof(line),
      "rusty_malloc: heap %zu bytes, %zu blocks allocated (%zu bytes), "
      "%zu free blocks (%zu bytes); %zu bytes reserved, %zu committed, "
      "%zu resident\n",
      s.heap_bytes, s.allocated_blocks, s.allocated_bytes, s.free_blocks,
      s.free_bytes, s.reserved_bytes, s.committed_bytes, s.resident_bytes);
  if (n > 0) {
    const ssize_t ignored = write(STDERR_FILENO, line, static_cast<size_t>(n));
    (void)ignored;
  }
}

}  // extern "C"

namespace {

// RUSTY_MALLOC_STATS=1 prints the heap's statistics at exit: a cheap way to
// see that a program really ran on this allocator.
__attribute__((destructor)) void MaybePrintStats() {
  const char* flag = getenv("RUSTY_MALLOC_STATS");
  if (flag != nullptr && flag[0] == '1') rusty_malloc_print_stats();
}

}  // namespace

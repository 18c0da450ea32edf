// The C allocation interface on the global heap, with glibc's documented
// behaviour at every corner: errno is ENOMEM on failure, realloc(p, 0) frees
// and returns nullptr, posix_memalign reports EINVAL for a bad alignment,
// memalign rounds a non-power-of-two alignment up, and so on.

#include "allocator/malloc.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstring>

#include "allocator/global_heap.h"

namespace rusty_malloc {
namespace {

// What malloc guarantees: alignof(max_align_t) on x86-64.
constexpr std::size_t kMallocAlignment = 16;

void* AllocateOrNoMemory(std::size_t size, std::size_t align) {
  void* p = TheGlobalHeap().Allocate(size, align);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

bool MultiplyOverflows(std::size_t a, std::size_t b, std::size_t* product) {
  return __builtin_mul_overflow(a, b, product);
}

std::size_t PageSize() { return static_cast<std::size_t>(getpagesize()); }

// memalign's rule: a non-power-of-two alignment rounds up to one.
void* AlignedOrNoMemory(std::size_t align, std::size_t size) {
  if (align > (SIZE_MAX >> 1) + 1) {
    errno = EINVAL;
    return nullptr;
  }
  if ((align & (align - 1)) != 0) align = std::bit_ceil(align);
  return AllocateOrNoMemory(
      size, align < kMallocAlignment ? kMallocAlignment : align);
}

}  // namespace

HeapStats MallocStats() { return TheGlobalHeap().Stats(); }
HeapReport MallocVerify() { return TheGlobalHeap().Verify(); }

}  // namespace rusty_malloc

using rusty_malloc::TheGlobalHeap;

extern "C" {

void* malloc(size_t size) {
  return rusty_malloc::AllocateOrNoMemory(size, rusty_malloc::kMallocAlignment);
}

void free(void* ptr) { TheGlobalHeap().Deallocate(ptr); }

void* calloc(size_t count, size_t size) {
  size_t bytes;
  if (rusty_malloc::MultiplyOverflows(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p =
      rusty_malloc::AllocateOrNoMemory(bytes, rusty_malloc::kMallocAlignment);
  if (p != nullptr) std::memset(p, 0, bytes);
  return p;
}

void* realloc(void* ptr, size_t size) {
  if (ptr != nullptr && size == 0) {
    TheGlobalHeap().Deallocate(ptr);
    return nullptr;
  }
  void* p =
      TheGlobalHeap().Reallocate(ptr, size, rusty_malloc::kMallocAlignment);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

void* reallocarray(void* ptr, size_t count, size_t size) {
  size_t bytes;
  if (rusty_malloc::MultiplyOverflows(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(ptr, bytes);
}

void* aligned_alloc(size_t align, size_t size) {
  if (align == 0 || (align & (align - 1)) != 0) {
    errno = EINVAL;
    return nullptr;
  }
  return rusty_malloc::AlignedOrNoMemory(align, size);
}

int posix_memalign(void** out, size_t align, size_t size) {
  if (align % sizeof(void*) != 0 || (align & (align - 1)) != 0 || align == 0) {
    return EINVAL;
  }
  const int saved = errno;
  void* p = rusty_malloc::AlignedOrNoMemory(align, size);
  errno = saved;  // posix_memalign reports through its result only.
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* memalign(size_t align, size_t size) {
  return rusty_malloc::AlignedOrNoMemory(align, size);
}

void* valloc(size_t size) {
  return rusty_malloc::AlignedOrNoMemory(rusty_malloc::PageSize(), size);
}

void* pvalloc(size_t size) {
  const size_t page = rusty_malloc::PageSize();
  if (size > SIZE_MAX - page) {
    errno = ENOMEM;
    return nullptr;
  }
  const size_t rounded = size == 0 ? page : (size + page - 1) / page * page;
  return rusty_malloc::AlignedOrNoMemory(page, rounded);
}

size_t malloc_usable_size(void* ptr) {
  return ptr == nullptr ? 0 : TheGlobalHeap().UsableSize(ptr);
}

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
  char line[256];
  const int n = std::snprintf(
      line, sizeof(line),
      "rusty_malloc: heap %zu bytes, %zu blocks allocated (%zu bytes), "
      "%zu free blocks (%zu bytes)\n",
      s.heap_bytes, s.allocated_blocks, s.allocated_bytes, s.free_blocks,
      s.free_bytes);
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

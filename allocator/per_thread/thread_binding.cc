#include "allocator/per_thread/thread_binding.h"

#include <sys/mman.h>

namespace rusty_malloc {

void* MapHeapMemory(std::size_t bytes) {
  void* memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? nullptr : memory;
}

void UnmapHeapMemory(void* memory, std::size_t bytes) { munmap(memory, bytes); }

}  // namespace rusty_malloc

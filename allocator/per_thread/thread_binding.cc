#include "allocator/per_thread/thread_binding.h"

#include "allocator/common/os_memory.h"

namespace rusty_malloc {

void* MapHeapMemory(std::size_t bytes) { return Map(bytes); }

void UnmapHeapMemory(void* memory, std::size_t bytes) { Unmap(memory, bytes); }

}  // namespace rusty_malloc

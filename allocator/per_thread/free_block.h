#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_FREE_BLOCK_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_FREE_BLOCK_H_

#include <atomic>
#include <cstdint>

namespace rusty_malloc::per_thread_internal {

// A free small block's first word links it into a free list, XORed with a
// secret chosen once per process: a stray or hostile write cannot forge a
// link to chosen memory, and a block whose first word decodes to a block of
// its own page (or to the end of a list) is, almost surely, already free.
// That test is how free() catches a double free without a canary store.
// A block handed out has its first word cleared, so a block the program
// never wrote does not look free, and no link leaks into the program.
extern constinit std::atomic<std::uintptr_t> link_key;

// Chooses the key, once, before the first block is linked (the first thread
// heap of any allocator); later calls leave it as it is.
void InitLinkKey();

inline std::uintptr_t LinkKey() {
  return link_key.load(std::memory_order_relaxed);
}

inline void* NextOf(const void* block, std::uintptr_t key = LinkKey()) {
  return reinterpret_cast<void*>(*static_cast<const std::uintptr_t*>(block) ^
                                 key);
}

inline void SetNext(void* block, void* next, std::uintptr_t key = LinkKey()) {
  *static_cast<std::uintptr_t*>(block) =
      reinterpret_cast<std::uintptr_t>(next) ^ key;
}

inline void ClearLink(void* block) { *static_cast<std::uintptr_t*>(block) = 0; }

}  // namespace rusty_malloc::per_thread_internal

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_FREE_BLOCK_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_TLS_SLOT_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_TLS_SLOT_H_

#include <atomic>
#include <cstdint>

#include "allocator/per_thread/chunk.h"

namespace rusty_malloc::per_thread_internal {

// The calling thread's heap of the allocator it used last. One slot for all
// instances keeps the fast path to one TLS load and one compare; a thread
// switching between instances finds its heap through pthread_getspecific.
struct TlsSlot {
  std::uint64_t instance = 0;
  void* heap = nullptr;
  std::uint64_t tag = 0;  // The heap's tag(); free() needs only this.
  // A chunk of `heap`, ORed with the instance (LocalChunkKey), or 0: a
  // pointer into it is a block of this thread's own heap, so free() skips
  // the chunk lookup and the owner check. Set by a free that made both;
  // cleared when the heap gives the chunk back (ForgetLocalChunk).
  std::uintptr_t local_chunk = 0;
  // LinkKey(), at hand for free's fast path: a TLS load rather than two
  // (the GOT entry, then the key).
  std::uintptr_t key = 0;
  // Set when a heap's key destructor ran on this thread: it is exiting, and
  // a heap bound now might never be abandoned (ThreadBinding::AllocateUnbound).
  bool exiting = false;
};
// Defined once (tls_slot.cc) rather than inline: an inline variable is
// a unique global symbol, which a shared library cannot keep to itself.
extern constinit thread_local TlsSlot tls_slot
    __attribute__((tls_model("initial-exec")));
extern constinit std::atomic<std::uint64_t> next_instance;

// The low bits of the key of every allocator whose chunks are never cached
// (ids from here on, after four million allocators): no cached key has
// them, so such an allocator never hits. Not 0, which an empty slot has.
inline constexpr std::uint64_t kUncachedId = kChunkSize - 1;

// What TlsSlot::local_chunk holds for the chunk at `p` of allocator
// `instance`, an id below kUncachedId. Chunks are kChunkSize-aligned, so
// the id fits in the low bits and two instances' keys never match.
inline std::uintptr_t LocalChunkKey(const void* p, std::uint64_t instance) {
  return (reinterpret_cast<std::uintptr_t>(p) & ~(kChunkSize - 1)) | instance;
}

// Drops the calling thread's cached chunk if it is `chunk`, which its heap
// is giving back.
inline void ForgetLocalChunk(const void* chunk) {
  if ((tls_slot.local_chunk & ~(kChunkSize - 1)) ==
      reinterpret_cast<std::uintptr_t>(chunk)) {
    tls_slot.local_chunk = 0;
  }
}

}  // namespace rusty_malloc::per_thread_internal

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_TLS_SLOT_H_

#include "allocator/per_thread/free_block.h"

#include <sys/random.h>

#include <ctime>

namespace rusty_malloc::per_thread_internal {

constinit std::atomic<std::uintptr_t> link_key{0};

void InitLinkKey() {
  if (link_key.load(std::memory_order_acquire) != 0) return;
  std::uintptr_t key = 0;
  // getrandom takes no memory from malloc; if the kernel has no entropy to
  // give yet, the clock and an address (ASLR) still vary per process.
  if (getrandom(&key, sizeof(key), GRND_NONBLOCK) != sizeof(key)) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    key = (static_cast<std::uintptr_t>(now.tv_nsec) << 32) ^
          static_cast<std::uintptr_t>(now.tv_sec) ^
          reinterpret_cast<std::uintptr_t>(&now);
    key *= 0x9e3779b97f4a7c15ULL;
  }
  // Odd, so never zero (zero would store links in the clear); the low bit
  // also makes an encoded link misaligned, so it never reads as a pointer.
  key |= 1;
  std::uintptr_t unset = 0;
  link_key.compare_exchange_strong(unset, key, std::memory_order_acq_rel);
}

}  // namespace rusty_malloc::per_thread_internal

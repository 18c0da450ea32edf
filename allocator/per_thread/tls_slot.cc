#include "allocator/per_thread/tls_slot.h"

namespace rusty_malloc::per_thread_internal {

constinit thread_local TlsSlot tls_slot
    __attribute__((tls_model("initial-exec")));
constinit std::atomic<std::uint64_t> next_instance{0};

}  // namespace rusty_malloc::per_thread_internal

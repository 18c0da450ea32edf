#ifndef RUSTY_MALLOC_ALLOCATOR_GUARDED_FAULT_HANDLER_H_
#define RUSTY_MALLOC_ALLOCATOR_GUARDED_FAULT_HANDLER_H_

#include "allocator/guarded/guarded_pool.h"

namespace rusty_malloc {

// Installs a SIGSEGV and SIGBUS handler (sigaction, SA_SIGINFO) that turns a
// fault inside `pool` into one report on stderr, written without
// allocating:
//
//   rusty_malloc: guarded allocation: use after free at 0x... (offset 16
//       of a 64-byte block at 0x...)
//   rusty_malloc: allocated by thread T at:      (frames)
//   rusty_malloc: freed by thread T at:          (frames, for a use after free)
//   rusty_malloc: accessed by thread T at:       (the faulting thread's)
//
// and then dies of the signal, the default action restored, as it would
// have without the handler. A fault outside the pool goes to the handler
// installed before (SIG_DFL: the default action; SIG_IGN: ignored). A later
// call only changes the pool. False if sigaction fails.
[[nodiscard]] bool InstallGuardedFaultHandler(GuardedPool* pool);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_GUARDED_FAULT_HANDLER_H_

#include "allocator/guarded/fault_handler.h"

#include <signal.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "allocator/common/log_line.h"
#include "allocator/common/spin_lock.h"
#include "allocator/guarded/trace.h"

namespace rusty_malloc {
namespace {

std::atomic<GuardedPool*> the_pool{nullptr};
// The actions before ours, set once before ours is installed.
struct sigaction previous_segv;
struct sigaction previous_bus;

ABSL_ATTRIBUTE_NOINLINE void Report(GuardedPool& pool, const void* address) {
  GuardedFault fault;
  GuardedSlot record;
  pool.DescribeFault(address, &fault, &record);
  const auto at = reinterpret_cast<std::size_t>(address);
  if (fault.slot == kNoSlot || record.view.state == SlotState::kUnused) {
    LogLine("guarded allocation: %s at 0x%zx (near no block)",
            FaultKindName(fault.kind), at);
  } else {
    LogLine(
        "guarded allocation: %s at 0x%zx (offset %td of a %zu-byte "
        "block at 0x%zx)",
        FaultKindName(fault.kind), at, fault.offset, record.view.size,
        static_cast<std::size_t>(record.view.block));
    WriteGuardedTrace("allocated", record.allocated);
    if (record.view.state == SlotState::kFreed) {
      WriteGuardedTrace("freed", record.freed);
    }
  }
  // From the frame that faulted on: past this function, OnFault and the
  // kernel's signal trampoline (a sanitizer's wrapper adds frames of its
  // own between them).
  GuardedTrace now;
  RecordGuardedTrace(&now, 3);
  WriteGuardedTrace("accessed", now);
}

// Dies of `sig` as if no handler had caught it: the default action, and
// the signal again (blocked until the handler returns, or the faulting
// instruction faults again).
void DieOf(int sig) {
  struct sigaction fallback = {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(sig, &fallback, nullptr);
  raise(sig);
}

void Chain(int sig, siginfo_t* info, void* context) {
  const struct sigaction& previous =
      sig == SIGBUS ? previous_bus : previous_segv;
  if ((previous.sa_flags & SA_SIGINFO) != 0) {
    if (previous.sa_sigaction != nullptr) {
      previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (previous.sa_handler == SIG_IGN) {
    return;
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != nullptr) {
    previous.sa_handler(sig);
    return;
  }
  DieOf(sig);
}

ABSL_ATTRIBUTE_NOINLINE void OnFault(int sig, siginfo_t* info, void* context) {
  GuardedPool* const pool = the_pool.load(std::memory_order_acquire);
  if (pool != nullptr && pool->Contains(info->si_addr)) {
    Report(*pool, info->si_addr);
    DieOf(sig);
    return;
  }
  Chain(sig, info, context);
}

SpinLock install_lock;
bool installed ABSL_GUARDED_BY(install_lock) = false;

}  // namespace

bool InstallGuardedFaultHandler(GuardedPool* pool) {
  SpinLockHolder hold(&install_lock);
  the_pool.store(pool, std::memory_order_release);
  if (installed) return true;
  struct sigaction action = {};
  action.sa_sigaction = OnFault;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSEGV, &action, &previous_segv) != 0) return false;
  if (sigaction(SIGBUS, &action, &previous_bus) != 0) {
    sigaction(SIGSEGV, &previous_segv, nullptr);
    return false;
  }
  installed = true;
  return true;
}

}  // namespace rusty_malloc

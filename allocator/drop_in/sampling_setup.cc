// Turns the drop-in's sampler on as the options say, once they are read
// (runtime_options.cc reads them at constructor priority 101): the guarded
// pool sized and placed, its fault handler installed, then sampling
// started. Before this, and for the locked and break variants, which have
// no sampler, nothing is sampled.

#include "allocator/common/log_line.h"
#include "allocator/drop_in/global_heap.h"
#include "allocator/drop_in/runtime_options.h"
#include "allocator/guarded/fault_handler.h"

namespace rusty_malloc {
namespace {

// A template, so that the heaps without a sampler compile the test away.
template <typename Heap>
void StartSampling(Heap& heap, const DropInOptions& options) {
  if constexpr (requires { heap.sampler(); }) {
    if (options.sample_bytes == 0 || options.guarded_every == 0) return;
    Sampler& sampler = heap.sampler();
    sampler.ResizePool(options.guarded_slots, options.guarded_placement);
    // A fault in a guarded block without the handler would still kill the
    // process, with no report: sampling into the pool is not worth it then.
    if (!InstallGuardedFaultHandler(&sampler.pool())) {
      LogLine("guarded sampling off: cannot install the fault handler");
      return;
    }
    sampler.Configure(options.sample_bytes, options.guarded_every);
  }
}

__attribute__((constructor(102))) void StartSamplingAtLoad() {
  StartSampling(TheGlobalHeap(), TheDropInOptions());
}

}  // namespace
}  // namespace rusty_malloc

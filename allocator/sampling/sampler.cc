#include "allocator/sampling/sampler.h"

#include <cstddef>
#include <cstdint>

#include "allocator/common/monotonic_clock.h"
#include "allocator/common/stack_trace.h"
#include "allocator/profile/stack_table.h"

namespace rusty_malloc {
namespace {

constexpr int kAllocatorFrames = 3;

}  // namespace

void Sampler::Record(void* block, std::size_t bytes,
                     std::size_t interval_bytes) {
  std::uintptr_t pcs[StackTable::kMaxFrames];
  const int depth = CaptureStack(pcs, StackTable::kMaxFrames, kAllocatorFrames);
  profile_.Record(block, bytes, static_cast<double>(interval_bytes), pcs,
                  depth);
}

std::int64_t Sampler::DeallocateGuarded(void* p) {
  const std::int64_t start = ThreadCpuNs();
  pool_.Deallocate(p);
  const std::int64_t spent = ThreadCpuNs() - start;
  AddSpent(spent);
  return spent;
}

}  // namespace rusty_malloc

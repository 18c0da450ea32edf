#ifndef RUSTY_MALLOC_ALLOCATOR_SAMPLING_SAMPLER_STATS_H_
#define RUSTY_MALLOC_ALLOCATOR_SAMPLING_SAMPLER_STATS_H_

#include <cstdint>

namespace rusty_malloc {

// What sampling has cost so far, process-wide: the samples taken, how many
// were guarded, and the time they took, measured around each sampled
// allocation and each free of a guarded block.
struct SamplerStats {
  std::uint64_t samples = 0;
  std::uint64_t guarded = 0;
  std::uint64_t spent_ns = 0;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_SAMPLING_SAMPLER_STATS_H_

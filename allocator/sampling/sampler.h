#ifndef RUSTY_MALLOC_ALLOCATOR_SAMPLING_SAMPLER_H_
#define RUSTY_MALLOC_ALLOCATOR_SAMPLING_SAMPLER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "absl/base/attributes.h"
#include "allocator/guarded/guarded_pool.h"
#include "allocator/profile/heap_profile.h"
#include "allocator/sampling/sampler_stats.h"

namespace rusty_malloc {

// What an allocator does with the allocations its heaps' countdowns pick
// (per_thread/sample_countdown.h): the settings, read on slow paths only;
// the guarded pool that every `guarded_every`-th sample goes to; and the
// heap profile every sample is recorded in while profiling is on. Off until
// Configure turns it on; constant-initialised, so a process-wide allocator
// can hold one.
class Sampler {
 public:
  constexpr Sampler() = default;
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // By default sampling may take 1/256 of a thread's CPU time in the long run
  // (SampleCountdown's pacing): under 0.4%, well inside the 2% a sampler in
  // production may cost.
  static constexpr std::uint32_t kDefaultPacingShare = 256;

  // A sample every `mean_bytes` allocated on average (0: off), one in
  // `guarded_every` of them guarded (0: none), paced to 1/`pacing_share` of
  // each thread's CPU time (0: unpaced, every interval of the mean asked).
  void Configure(std::size_t mean_bytes, std::uint32_t guarded_every,
                 std::uint32_t pacing_share = kDefaultPacingShare) {
    guarded_every_.store(guarded_every, std::memory_order_relaxed);
    pacing_share_.store(pacing_share, std::memory_order_relaxed);
    mean_bytes_.store(mean_bytes, std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t mean_bytes() const {
    return mean_bytes_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint32_t pacing_share() const {
    return pacing_share_.load(std::memory_order_relaxed);
  }

  // For a sampled allocation: a block of the guarded pool when this sample's
  // turn has come and a slot is free, else nullptr (the caller allocates as
  // usual).
  [[nodiscard]] void* AllocateGuarded(std::size_t size, std::size_t align) {
    const std::uint32_t every = guarded_every_.load(std::memory_order_relaxed);
    if (every == 0) return nullptr;
    if (samples_.fetch_add(1, std::memory_order_relaxed) % every != 0) {
      return nullptr;
    }
    return pool_.Allocate(size, align);
  }
  // Counts a sample that took `ns` to serve.
  void Charge(std::int64_t ns, bool guarded) {
    samples_taken_.fetch_add(1, std::memory_order_relaxed);
    if (guarded) guarded_taken_.fetch_add(1, std::memory_order_relaxed);
    AddSpent(ns);
  }
  // Frees `p`, a block of the guarded pool, timed into the stats; returns
  // the CPU time that took.
  std::int64_t DeallocateGuarded(void* p);
  [[nodiscard]] SamplerStats Stats() const {
    return {samples_taken_.load(std::memory_order_relaxed),
            guarded_taken_.load(std::memory_order_relaxed),
            spent_ns_.load(std::memory_order_relaxed)};
  }
  // Whether `p` is the pool's: two loads, for the free paths that get here.
  [[nodiscard]] bool IsGuarded(const void* p) const {
    return pool_.Contains(p);
  }
  GuardedPool& pool() { return pool_; }

  // Heap profiling: every sampled allocation recorded with its stack, and
  // forgotten when freed. Before Configure.
  void EnableProfile() { profiling_.store(true, std::memory_order_relaxed); }
  [[nodiscard]] bool profiling() const {
    return profiling_.load(std::memory_order_relaxed);
  }
  HeapProfile& profile() { return profile_; }
  // Records `block`, a sampled allocation of `bytes` (the bytes the
  // countdown counted) drawn with a mean interval of `interval_bytes`, with
  // the stack that allocated it. The stack starts
  // kAllocatorFrames frames up, past the allocator's own frames on malloc's
  // path (this function, the heap's sampling path and the C interface's
  // slow path; malloc reaches that by a tail call). Other entry points
  // (aligned allocation, operator new) keep an allocator frame or two at
  // the top: a profile's cumulative figures still name the caller.
  ABSL_ATTRIBUTE_NOINLINE void Record(void* block, std::size_t bytes,
                                      std::size_t interval_bytes);
  // Forgets `block`'s sample, if it has one, as it is freed.
  void Forget(void* block) {
    if (profiling()) profile_.Remove(block);
  }
  // Replaces the pool with one of `slots` slots placed as `placement` says.
  // Only before sampling starts: nothing may have been allocated from it.
  void ResizePool(std::size_t slots, GuardedPlacement placement) {
    pool_.~GuardedPool();
    new (&pool_) GuardedPool(slots, placement);
  }

 private:
  std::atomic<std::size_t> mean_bytes_{0};
  std::atomic<std::uint32_t> guarded_every_{0};
  std::atomic<std::uint32_t> pacing_share_{kDefaultPacingShare};
  void AddSpent(std::int64_t ns) {
    if (ns > 0) {
      spent_ns_.fetch_add(static_cast<std::uint64_t>(ns),
                          std::memory_order_relaxed);
    }
  }

  std::atomic<std::uint32_t> samples_{0};  // Guarded's turn.
  std::atomic<std::uint64_t> samples_taken_{0};
  std::atomic<std::uint64_t> guarded_taken_{0};
  std::atomic<std::uint64_t> spent_ns_{0};
  std::atomic<bool> profiling_{false};
  GuardedPool pool_;
  HeapProfile profile_;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_SAMPLING_SAMPLER_H_

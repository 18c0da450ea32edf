#include "allocator/profile/heap_profile.h"

namespace rusty_malloc {

void HeapProfile::Record(void* block, std::size_t bytes, double interval_bytes,
                         const std::uintptr_t* pcs, int depth) {
  const auto address = reinterpret_cast<std::uintptr_t>(block);
  if (address == 0) return;
  // Outside the lock: exp and a division.
  const SampleWeight weight = WeighSample(bytes, interval_bytes);
  SpinLockHolder hold(&lock_);
  SampledBlock stale;
  if (blocks_.Remove(address, &stale)) Subtract(stale);
  const StackTable::Id id = stacks_.Intern(pcs, depth);
  if (!blocks_.Insert(SampledBlock{address, id, weight})) {
    ++dropped_samples_;
    live_samples_.store(blocks_.size(), std::memory_order_relaxed);
    return;
  }
  live_samples_.store(blocks_.size(), std::memory_order_relaxed);
  ++total_samples_;
  if (id == StackTable::kOverflowId) ++overflowed_samples_;
  stacks_.AddSample(id, weight);
  live_.count += weight.count;
  live_.bytes += weight.bytes;
  total_.count += weight.count;
  total_.bytes += weight.bytes;
  if (live_.bytes > peak_.bytes) {
    peak_ = live_;
    stacks_.SnapshotPeak();
  }
}

bool HeapProfile::Remove(void* block) {
  // Most frees, and every free while no sample is live, stop here.
  if (live_samples_.load(std::memory_order_relaxed) == 0) return false;
  SpinLockHolder hold(&lock_);
  SampledBlock removed;
  if (!blocks_.Remove(reinterpret_cast<std::uintptr_t>(block), &removed)) {
    return false;
  }
  Subtract(removed);
  return true;
}

void HeapProfile::Subtract(const SampledBlock& block) {
  live_samples_.store(blocks_.size(), std::memory_order_relaxed);
  stacks_.RemoveSample(block.stack, block.weight);
  if (blocks_.size() == 0) {
    // Exactly zero, not what rounding left of the sums (as each stack's).
    live_ = SampleWeight{};
    return;
  }
  live_.count -= block.weight.count;
  live_.bytes -= block.weight.bytes;
}

HeapProfileStats HeapProfile::Stats() const {
  SpinLockHolder hold(&lock_);
  HeapProfileStats stats;
  stats.live = live_;
  stats.total = total_;
  stats.peak = peak_;
  stats.live_samples = blocks_.size();
  stats.total_samples = total_samples_;
  stats.stacks = stacks_.size();
  stats.overflowed_samples = overflowed_samples_;
  stats.dropped_samples = dropped_samples_;
  return stats;
}

}  // namespace rusty_malloc

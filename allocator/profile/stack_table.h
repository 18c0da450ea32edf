#ifndef RUSTY_MALLOC_ALLOCATOR_PROFILE_STACK_TABLE_H_
#define RUSTY_MALLOC_ALLOCATOR_PROFILE_STACK_TABLE_H_

#include <cstddef>
#include <cstdint>

#include "allocator/profile/sample_weight.h"

// The call stacks a heap profile has seen, each interned once under a small
// id, with what was sampled at it. It lives inside malloc, so its storage
// is one mapping of its own (os_memory), sized once: a table that has
// reached its capacity sends further new stacks to one overflow stack
// rather than failing or growing without bound.

namespace rusty_malloc {

// What was sampled at one stack: raw sample counts, and estimates (each
// sample weighed by sample_weight.h) of allocations and bytes.
struct StackCounters {
  std::size_t live_samples = 0;   // Sampled blocks not yet freed.
  std::size_t total_samples = 0;  // Sampled since the start.
  SampleWeight live;              // Estimated live allocations and bytes.
  SampleWeight total;             // Estimated allocated since the start.
  SampleWeight peak;              // `live` as of the last SnapshotPeak.
};

// One interned stack: return addresses, innermost first (CaptureStack's).
struct StackRecord {
  static constexpr int kMaxFrames = 32;
  std::uint64_t hash = 0;
  int depth = 0;
  std::uintptr_t pcs[kMaxFrames] = {};
  StackCounters counters;
};

// Not thread-safe: its owner (HeapProfile) locks around it.
class StackTable {
 public:
  using Id = std::uint32_t;
  static constexpr int kMaxFrames = StackRecord::kMaxFrames;
  static constexpr std::size_t kDefaultCapacity = 4096;
  // Where stacks go once the table is full, or if its mapping failed.
  static constexpr Id kOverflowId = ~Id{0};

  // Maps nothing: the first Intern maps room for `capacity` stacks (at
  // most 2^24), so a process-wide table costs nothing until a sample.
  constexpr explicit StackTable(std::size_t capacity = kDefaultCapacity)
      : capacity_(capacity == 0             ? 1
                  : capacity > kMaxCapacity ? kMaxCapacity
                                            : capacity) {}
  StackTable(const StackTable&) = delete;
  StackTable& operator=(const StackTable&) = delete;
  ~StackTable();

  // The id of the stack pcs[0, depth) (frames past kMaxFrames dropped),
  // interned when first seen; kOverflowId when it is new and the table is
  // full. Never allocates.
  [[nodiscard]] Id Intern(const std::uintptr_t* pcs, int depth);

  // A sample of `weight` allocated at `id`: live and total grow.
  void AddSample(Id id, SampleWeight weight);
  // A sample AddSample counted at `id`, freed: live shrinks by it.
  void RemoveSample(Id id, SampleWeight weight);
  // Copies every stack's live counters into its peak ones: O(stacks).
  void SnapshotPeak();

  [[nodiscard]] const StackRecord& stack(Id id) const {
    return id == kOverflowId ? overflow_ : records_[id];
  }
  // Stacks interned, the overflow stack not counted.
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

  // Calls fn(id, record) for every interned stack, then for the overflow
  // stack if a sample ever went there.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (std::size_t i = 0; i < size_; ++i) {
      fn(static_cast<Id>(i), static_cast<const StackRecord&>(records_[i]));
    }
    if (overflow_.counters.total_samples != 0) fn(kOverflowId, overflow_);
  }

 private:
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 24;

  StackRecord& mutable_stack(Id id) {
    return id == kOverflowId ? overflow_ : records_[id];
  }
  // kOverflowId, its stack named first.
  [[nodiscard]] Id Overflow();
  // Maps the records and the index; false (for good) if the OS refuses.
  [[nodiscard]] bool Init();
  [[nodiscard]] std::size_t MappedBytes() const;

  const std::size_t capacity_;
  std::size_t size_ = 0;
  bool failed_ = false;
  // capacity_ records, then the index: index_slots_ (a power of two, at
  // least twice capacity_) ids plus one, 0 for an empty slot, probed
  // linearly from the stack's hash. Never removed from, so no tombstones.
  StackRecord* records_ = nullptr;
  Id* index_ = nullptr;
  std::size_t index_slots_ = 0;
  StackRecord overflow_;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PROFILE_STACK_TABLE_H_

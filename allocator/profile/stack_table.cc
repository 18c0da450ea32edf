#include "allocator/profile/stack_table.h"

#include <cstring>

#include "absl/base/attributes.h"
#include "allocator/common/os_memory.h"

namespace rusty_malloc {
namespace {

// Never called: the overflow stack's one frame is an address in it, so a
// profile's reader symbolizes the overflow under this name. (One past its
// entry: a frame holds a return address, which a reader moves back by
// one to find the call.)
ABSL_ATTRIBUTE_NOINLINE void HeapProfileStackTableFull() {
  // Keeps the function from folding into another one with the same body.
  asm volatile("");
}

std::uint64_t HashStack(const std::uintptr_t* pcs, int depth) {
  std::uint64_t hash = static_cast<std::uint64_t>(depth);
  for (int i = 0; i < depth; ++i) {
    hash = (hash ^ pcs[i]) * 0x9e3779b97f4a7c15u;
    hash ^= hash >> 29;
  }
  return hash;
}

bool SameStack(const StackRecord& record, std::uint64_t hash,
               const std::uintptr_t* pcs, int depth) {
  // No frames may come as a null `pcs`, which memcmp must not be given.
  return record.hash == hash && record.depth == depth &&
         (depth == 0 ||
          std::memcmp(record.pcs, pcs,
                      static_cast<std::size_t>(depth) * sizeof(pcs[0])) == 0);
}

}  // namespace

StackTable::~StackTable() {
  if (records_ != nullptr) Unmap(records_, MappedBytes());
}

std::size_t StackTable::MappedBytes() const {
  return capacity_ * sizeof(StackRecord) + index_slots_ * sizeof(Id);
}

bool StackTable::Init() {
  if (failed_) return false;
  std::size_t slots = 1;
  while (slots < 2 * capacity_) slots *= 2;
  index_slots_ = slots;
  // The kernel's zero pages are empty records and empty index slots, and
  // the records' pages cost nothing until stacks fill them.
  void* room = Map(MappedBytes());
  if (room == nullptr) {
    failed_ = true;
    index_slots_ = 0;
    return false;
  }
  records_ = static_cast<StackRecord*>(room);
  index_ = reinterpret_cast<Id*>(static_cast<char*>(room) +
                                 capacity_ * sizeof(StackRecord));
  return true;
}

StackTable::Id StackTable::Intern(const std::uintptr_t* pcs, int depth) {
  if (depth < 0) depth = 0;
  if (depth > kMaxFrames) depth = kMaxFrames;
  if (records_ == nullptr && !Init()) return Overflow();
  const std::uint64_t hash = HashStack(pcs, depth);
  const std::size_t mask = index_slots_ - 1;
  for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const Id held = index_[slot];
    if (held == 0) {
      // New. The index is at most half full, so the probe found an
      // empty slot and stops here.
      if (size_ == capacity_) break;
      const Id id = static_cast<Id>(size_++);
      StackRecord& record = records_[id];
      record.hash = hash;
      record.depth = depth;
      if (depth > 0) {
        std::memcpy(record.pcs, pcs,
                    static_cast<std::size_t>(depth) * sizeof(pcs[0]));
      }
      index_[slot] = id + 1;
      return id;
    }
    if (SameStack(records_[held - 1], hash, pcs, depth)) return held - 1;
  }
  return Overflow();
}

StackTable::Id StackTable::Overflow() {
  if (overflow_.depth == 0) {
    overflow_.depth = 1;
    overflow_.pcs[0] =
        reinterpret_cast<std::uintptr_t>(&HeapProfileStackTableFull) + 1;
  }
  return kOverflowId;
}

void StackTable::AddSample(Id id, SampleWeight weight) {
  StackCounters& counters = mutable_stack(id).counters;
  ++counters.live_samples;
  ++counters.total_samples;
  counters.live.count += weight.count;
  counters.live.bytes += weight.bytes;
  counters.total.count += weight.count;
  counters.total.bytes += weight.bytes;
}

void StackTable::RemoveSample(Id id, SampleWeight weight) {
  StackCounters& counters = mutable_stack(id).counters;
  if (counters.live_samples == 0) return;  // Not ours: changes nothing.
  if (--counters.live_samples == 0) {
    // Exactly zero, not what rounding left of adding and subtracting the
    // same weights in another order.
    counters.live = SampleWeight{};
    return;
  }
  counters.live.count -= weight.count;
  counters.live.bytes -= weight.bytes;
}

void StackTable::SnapshotPeak() {
  for (std::size_t i = 0; i < size_; ++i) {
    records_[i].counters.peak = records_[i].counters.live;
  }
  overflow_.counters.peak = overflow_.counters.live;
}

}  // namespace rusty_malloc

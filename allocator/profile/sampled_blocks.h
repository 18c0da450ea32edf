#ifndef RUSTY_MALLOC_ALLOCATOR_PROFILE_SAMPLED_BLOCKS_H_
#define RUSTY_MALLOC_ALLOCATOR_PROFILE_SAMPLED_BLOCKS_H_

#include <cstddef>
#include <cstdint>

#include "allocator/common/mapped_array.h"
#include "allocator/profile/sample_weight.h"

// The sampled blocks still live, by address: what a heap profile looks up
// when a block is freed, to subtract its sample from its stack. An
// open-addressing hash table (linear probing, at most half full, so a
// lookup is O(1) expected) on a MappedArray, which doubles as it fills; a
// removal shifts the probe chain back, so no tombstones pile up.

namespace rusty_malloc {

struct SampledBlock {
  std::uintptr_t address = 0;  // 0: an empty slot.
  std::uint32_t stack = 0;     // Its StackTable id.
  SampleWeight weight;
};

// Not thread-safe: its owner (HeapProfile) locks around it.
class SampledBlocks {
 public:
  static constexpr std::size_t kFirstCapacity = 1024;

  constexpr SampledBlocks() = default;
  SampledBlocks(const SampledBlocks&) = delete;
  SampledBlocks& operator=(const SampledBlocks&) = delete;

  // Adds `block`, whose address is not held. False, changing nothing, for
  // address 0 (an empty slot's), and when the table is nearly full and the
  // OS refuses a larger one: a table the OS will not grow fills past half
  // before it refuses, so only the OS's refusal costs samples.
  [[nodiscard]] bool Insert(const SampledBlock& block);

  // Removes the block at `address` into `*removed`; false if none is held.
  [[nodiscard]] bool Remove(std::uintptr_t address, SampledBlock* removed);

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t capacity() const { return slots_.capacity(); }

 private:
  // The slot a probe for `address` starts at.
  [[nodiscard]] std::size_t Home(std::uintptr_t address) const;
  // Places `block` in the first empty slot from its home; the table has one.
  void Place(const SampledBlock& block);
  // Doubles the table, placing every block anew; false if the OS refuses.
  [[nodiscard]] bool Grow();

  MappedArray<SampledBlock, kFirstCapacity> slots_;
  std::size_t size_ = 0;
  int shift_ = 64;  // 64 - log2(capacity): Home takes the hash's top bits.
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PROFILE_SAMPLED_BLOCKS_H_

#include "allocator/profile/sampled_blocks.h"

#include <bit>

namespace rusty_malloc {

std::size_t SampledBlocks::Home(std::uintptr_t address) const {
  // Fibonacci hashing: blocks are aligned, so their low bits say little,
  // and the product's top bits mix in all of them.
  return static_cast<std::size_t>(
      (static_cast<std::uint64_t>(address) * 0x9e3779b97f4a7c15u) >> shift_);
}

void SampledBlocks::Place(const SampledBlock& block) {
  const std::size_t mask = slots_.capacity() - 1;
  std::size_t slot = Home(block.address);
  while (slots_[slot].address != 0) slot = (slot + 1) & mask;
  slots_[slot] = block;
}

bool SampledBlocks::Grow() {
  MappedArray<SampledBlock, kFirstCapacity> old;
  if (!slots_.GrowFresh(&old)) return false;
  shift_ = 64 - std::countr_zero(slots_.capacity());
  for (std::size_t i = 0; i < old.capacity(); ++i) {
    if (old[i].address != 0) Place(old[i]);
  }
  return true;
}

bool SampledBlocks::Insert(const SampledBlock& block) {
  if (block.address == 0) return false;  // It would read as an empty slot.
  // Above half full probes lengthen quickly; a full table never ends one.
  if (2 * (size_ + 1) > slots_.capacity() && !Grow() &&
      size_ + 1 >= slots_.capacity()) {
    return false;
  }
  Place(block);
  ++size_;
  return true;
}

bool SampledBlocks::Remove(std::uintptr_t address, SampledBlock* removed) {
  if (size_ == 0 || address == 0) return false;
  const std::size_t mask = slots_.capacity() - 1;
  std::size_t slot = Home(address);
  while (slots_[slot].address != address) {
    if (slots_[slot].address == 0) return false;
    slot = (slot + 1) & mask;
  }
  *removed = slots_[slot];
  --size_;
  // Backward shift: each later block of the chain whose home does not lie
  // in (hole, its slot] moves into the hole, so that every probe still
  // reaches its block without passing an empty slot.
  std::size_t hole = slot;
  for (std::size_t next = (hole + 1) & mask; slots_[next].address != 0;
       next = (next + 1) & mask) {
    const std::size_t home = Home(slots_[next].address);
    const bool stays = hole <= next ? hole < home && home <= next
                                    : hole < home || home <= next;
    if (stays) continue;
    slots_[hole] = slots_[next];
    hole = next;
  }
  slots_[hole] = SampledBlock{};
  return true;
}

}  // namespace rusty_malloc

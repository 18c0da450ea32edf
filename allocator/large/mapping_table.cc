#include "allocator/large/mapping_table.h"

#include <bit>

#include "allocator/common/planted_bug.h"

namespace rusty_malloc {

std::size_t MappingTable::Home(std::uintptr_t begin) const {
  // Mappings start on OS page boundaries: the low 12 bits carry nothing.
  // Fibonacci hashing spreads the rest over the table.
  const std::uint64_t h = (begin >> 12) * 0x9E3779B97F4A7C15ull;
  return static_cast<std::size_t>(h >>
                                  (64 - std::countr_zero(slots_.capacity())));
}

bool MappingTable::Grow() {
  MappedArray<Slot, kFirstCapacity> old;
  if (!slots_.GrowFresh(&old)) return false;
  for (std::size_t i = 0; i < old.capacity(); ++i) {
    if (old[i].begin == 0) continue;
    std::size_t at = Home(old[i].begin);
    while (slots_[at].begin != 0) at = (at + 1) & Mask();
    slots_[at] = old[i];
  }
  return true;
}

bool MappingTable::Insert(std::uintptr_t begin, std::size_t bytes,
                          std::uint64_t tag) {
  if (!ReserveSlot()) return false;
  InsertReserved(begin, bytes, tag);
  return true;
}

bool MappingTable::ReserveSlot() {
  // At most half full, held slots included, so that probes stay short.
  if (2 * (count_ + reserved_ + 1) > slots_.capacity() && !Grow()) return false;
  ++reserved_;
  return true;
}

void MappingTable::InsertReserved(std::uintptr_t begin, std::size_t bytes,
                                  std::uint64_t tag) {
  --reserved_;
  std::size_t at = Home(begin);
  while (slots_[at].begin != 0) at = (at + 1) & Mask();
  slots_[at] = {begin, bytes, tag};
  ++count_;
}

std::size_t MappingTable::Find(std::uintptr_t begin) const {
  if (count_ == 0 || begin == 0) return 0;
  for (std::size_t at = Home(begin);; at = (at + 1) & Mask()) {
    if (slots_[at].begin == begin) return slots_[at].bytes;
    if (slots_[at].begin == 0) return 0;
  }
}

std::size_t MappingTable::Erase(std::uintptr_t begin, std::uint64_t* tag) {
  if (count_ == 0 || begin == 0) return 0;
  std::size_t at = Home(begin);
  while (slots_[at].begin != begin) {
    if (slots_[at].begin == 0) return 0;
    at = (at + 1) & Mask();
  }
  const std::size_t bytes = slots_[at].bytes;
  if (tag != nullptr) *tag = slots_[at].tag;
  // Backward shift: pull later members of the probe run into the hole when
  // their home does not lie cyclically in (hole, their slot].
  std::size_t hole = at;
  for (std::size_t next = (hole + 1) & Mask(); slots_[next].begin != 0;
       next = (next + 1) & Mask()) {
    const std::size_t home = Home(slots_[next].begin);
    const bool stays = ((next - home) & Mask()) < ((next - hole) & Mask());
    if (stays) {
      if (Planted(PlantedBug::kShiftStopsAtFirstStay)) break;
      continue;
    }
    slots_[hole] = slots_[next];
    hole = next;
  }
  slots_[hole] = {0, 0, 0};
  --count_;
  return bytes;
}

}  // namespace rusty_malloc

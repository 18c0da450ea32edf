#include "allocator/large/mapping_table.h"

#include <bit>

#include "allocator/common/os_memory.h"
#include "allocator/common/planted_bug.h"

namespace rusty_malloc {
namespace {

// Slots for a page to start with (a power of two, of 24 bytes each): most
// programs hold a few large blocks.
constexpr std::size_t kFirstCapacity = 128;

}  // namespace

MappingTable::~MappingTable() {
  if (slots_ != nullptr) Unmap(slots_, capacity_ * sizeof(Slot));
}

std::size_t MappingTable::Home(std::uintptr_t begin) const {
  // Mappings start on page boundaries: the low 12 bits carry nothing.
  // Fibonacci hashing spreads the rest over the table.
  const std::uint64_t h = (begin >> 12) * 0x9E3779B97F4A7C15ull;
  return static_cast<std::size_t>(h >> (64 - std::countr_zero(capacity_)));
}

bool MappingTable::Grow() {
  const std::size_t capacity = capacity_ == 0 ? kFirstCapacity : 2 * capacity_;
  void* room = Map(capacity * sizeof(Slot));
  if (room == nullptr) return false;
  Slot* const old = slots_;
  const std::size_t old_capacity = capacity_;
  slots_ = static_cast<Slot*>(room);
  capacity_ = capacity;
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (old[i].begin == 0) continue;
    std::size_t at = Home(old[i].begin);
    while (slots_[at].begin != 0) at = (at + 1) & (capacity_ - 1);
    slots_[at] = old[i];
  }
  if (old != nullptr) Unmap(old, old_capacity * sizeof(Slot));
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
  if (2 * (count_ + reserved_ + 1) > capacity_ && !Grow()) return false;
  ++reserved_;
  return true;
}

void MappingTable::InsertReserved(std::uintptr_t begin, std::size_t bytes,
                                  std::uint64_t tag) {
  --reserved_;
  std::size_t at = Home(begin);
  while (slots_[at].begin != 0) at = (at + 1) & (capacity_ - 1);
  slots_[at] = {begin, bytes, tag};
  ++count_;
}

std::size_t MappingTable::Find(std::uintptr_t begin) const {
  if (count_ == 0 || begin == 0) return 0;
  for (std::size_t at = Home(begin);; at = (at + 1) & (capacity_ - 1)) {
    if (slots_[at].begin == begin) return slots_[at].bytes;
    if (slots_[at].begin == 0) return 0;
  }
}

std::size_t MappingTable::Erase(std::uintptr_t begin, std::uint64_t* tag) {
  if (count_ == 0 || begin == 0) return 0;
  std::size_t at = Home(begin);
  while (slots_[at].begin != begin) {
    if (slots_[at].begin == 0) return 0;
    at = (at + 1) & (capacity_ - 1);
  }
  const std::size_t bytes = slots_[at].bytes;
  if (tag != nullptr) *tag = slots_[at].tag;
  // Backward shift: pull later members of the probe run into the hole when
  // their home does not lie cyclically in (hole, their slot].
  std::size_t hole = at;
  for (std::size_t next = (hole + 1) & (capacity_ - 1); slots_[next].begin != 0;
       next = (next + 1) & (capacity_ - 1)) {
    const std::size_t home = Home(slots_[next].begin);
    const bool stays =
        ((next - home) & (capacity_ - 1)) < ((next - hole) & (capacity_ - 1));
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

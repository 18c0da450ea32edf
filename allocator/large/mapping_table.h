#ifndef RUSTY_MALLOC_ALLOCATOR_LARGE_MAPPING_TABLE_H_
#define RUSTY_MALLOC_ALLOCATOR_LARGE_MAPPING_TABLE_H_

#include <cstddef>
#include <cstdint>

#include "allocator/common/mapped_array.h"
#include "allocator/common/sanitizer.h"

namespace rusty_malloc {

// The live direct mappings, keyed by start address, each with its length
// and a tag its owner gives it: a hash table with linear probing and
// backward-shift deletion (no tombstones, so lookups stay short however many
// mappings come and go). It serves malloc, so its slots live in
// memory it maps itself. Not thread-safe: its owner locks around it.
class MappingTable {
 public:
  constexpr MappingTable() = default;
  MappingTable(const MappingTable&) = delete;
  MappingTable& operator=(const MappingTable&) = delete;

  // Records a mapping of `bytes` (> 0) at `begin` (not yet recorded). False
  // when the table had to grow and could not map the room: nothing changed.
  [[nodiscard]] bool Insert(std::uintptr_t begin, std::size_t bytes,
                            std::uint64_t tag = 0);
  // The length recorded for `begin`, or 0 when no mapping starts there.
  [[nodiscard]] std::size_t Find(std::uintptr_t begin) const;
  // Forgets `begin`; returns its length, or 0 when it was not recorded.
  // Stores its tag in `*tag` when it was and `tag` is not null.
  std::size_t Erase(std::uintptr_t begin, std::uint64_t* tag = nullptr);
  // Holds room for one InsertReserved, growing now if need be; false when
  // the table could not grow. A mapping being moved is erased and
  // re-inserted under two holds of its owner's lock: inserts in between
  // must not take the room it goes back into.
  [[nodiscard]] bool ReserveSlot();
  // Insert into room a ReserveSlot held; cannot fail.
  void InsertReserved(std::uintptr_t begin, std::size_t bytes,
                      std::uint64_t tag = 0);
  // Forgets every ReserveSlot's hold: in a forked child, whose only thread
  // holds none, they belong to threads that do not exist there.
  void DropReservations() { reserved_ = 0; }
  [[nodiscard]] std::size_t reserved() const { return reserved_; }

  [[nodiscard]] std::size_t size() const { return count_; }
  // Calls visit(begin, bytes) for every mapping, in no particular order;
  // stops early when visit returns false.
  template <typename Visit>
  RUSTY_MALLOC_UNCOVERED_WALK void ForEach(Visit visit) const {
    for (std::size_t i = 0; i < slots_.capacity(); ++i) {
      if (slots_[i].begin != 0 && !visit(slots_[i].begin, slots_[i].bytes)) {
        return;
      }
    }
  }

 private:
  struct Slot {
    std::uintptr_t begin;  // 0: empty.
    std::size_t bytes;
    std::uint64_t tag;
  };

  // Slots for an OS page to start with (a power of two, of 24 bytes each): most
  // programs hold a few large blocks.
  static constexpr std::size_t kFirstCapacity = 128;

  [[nodiscard]] std::size_t Home(std::uintptr_t begin) const;
  [[nodiscard]] std::size_t Mask() const { return slots_.capacity() - 1; }
  [[nodiscard]] bool Grow();

  // Capacity a power of two, or 0 before the first insert.
  MappedArray<Slot, kFirstCapacity> slots_;
  std::size_t count_ = 0;
  std::size_t reserved_ = 0;  // Slots held by ReserveSlot.
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_LARGE_MAPPING_TABLE_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_GUARDED_LAYOUT_H_
#define RUSTY_MALLOC_ALLOCATOR_GUARDED_LAYOUT_H_

#include <cstddef>
#include <cstdint>

namespace rusty_malloc {

// The guarded pool's address range: a guard page, then for each slot its
// page and a guard page after it, all OS pages:
//
//   | guard | slot 0 | guard | slot 1 | guard | ... | slot N-1 | guard |
//
// so page 2i + 1 of the range is slot i's, and every even page a guard. A
// plain value: the pool fills it in once, and the fault classification
// reads it.
struct GuardedLayout {
  std::uintptr_t base = 0;  // The first guard page; 0 before reserving.
  std::size_t page = 0;     // OsPageSize().
  std::size_t slots = 0;

  [[nodiscard]] constexpr std::size_t bytes() const {
    return (2 * slots + 1) * page;
  }
  [[nodiscard]] constexpr bool Contains(std::uintptr_t address) const {
    return address >= base && address - base < bytes();
  }
  // The page of the range `address` lies in; only for one it contains.
  [[nodiscard]] constexpr std::size_t PageIndex(std::uintptr_t address) const {
    return (address - base) / page;
  }
  [[nodiscard]] static constexpr bool IsSlotPage(std::size_t index) {
    return index % 2 == 1;
  }
  // The slot whose page is page `index` (a slot page).
  [[nodiscard]] static constexpr std::size_t SlotOfPage(std::size_t index) {
    return (index - 1) / 2;
  }
  [[nodiscard]] constexpr std::uintptr_t SlotStart(std::size_t slot) const {
    return base + (2 * slot + 1) * page;
  }
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_GUARDED_LAYOUT_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_GUARDED_CLASSIFY_FAULT_H_
#define RUSTY_MALLOC_ALLOCATOR_GUARDED_CLASSIFY_FAULT_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "allocator/guarded/layout.h"

// What a fault at an address of the guarded pool means: a pure function of
// the layout and the slots' blocks, so that it is tested without faults and
// called from a signal handler (it neither allocates nor locks).

namespace rusty_malloc {

enum class FaultKind {
  kNotInPool,
  kUnknown,  // In the pool, but near no block it ever held.
  kUseAfterFree,
  kBufferOverflow,
  kBufferUnderflow,
};

[[nodiscard]] constexpr const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNotInPool:
      return "access outside the pool";
    case FaultKind::kUnknown:
      return "unknown access";
    case FaultKind::kUseAfterFree:
      return "use after free";
    case FaultKind::kBufferOverflow:
      return "buffer overflow";
    case FaultKind::kBufferUnderflow:
      return "buffer underflow";
  }
  return "?";
}

enum class SlotState : unsigned char { kUnused, kAllocated, kFreed };

// What the classification reads of a slot: its state and its (last) block.
struct SlotView {
  SlotState state = SlotState::kUnused;
  std::uintptr_t block = 0;
  std::size_t size = 0;
};

inline constexpr std::size_t kNoSlot = SIZE_MAX;

struct GuardedFault {
  FaultKind kind = FaultKind::kNotInPool;
  std::size_t slot = kNoSlot;
  // The address less the block's start: negative below it.
  std::ptrdiff_t offset = 0;
};

// Classifies a fault at `address`; `view_of(slot)` returns a SlotView.
// - In a slot's page: use after free if the slot's block was freed; else,
//   the block allocated, underflow below its start and overflow from its
//   end (kUnknown inside it, or for a slot never used).
// - In a guard page: the nearest of the two neighbouring blocks, preferring
//   an allocated one: overflow when it lies before the address, underflow
//   when after; use after free when only freed blocks neighbour it (as
//   GWP-ASan reports an access just off a freed block); kUnknown when
//   neither slot was ever used.
template <typename ViewOf>
[[nodiscard]] GuardedFault ClassifyFault(const GuardedLayout& layout,
                                         std::uintptr_t address,
                                         ViewOf view_of) {
  GuardedFault fault;
  if (!layout.Contains(address)) return fault;
  fault.kind = FaultKind::kUnknown;
  const auto offset_in = [address](const SlotView& view) {
    return static_cast<std::ptrdiff_t>(address - view.block);
  };
  const std::size_t index = layout.PageIndex(address);
  if (GuardedLayout::IsSlotPage(index)) {
    const std::size_t slot = GuardedLayout::SlotOfPage(index);
    const SlotView view = view_of(slot);
    fault.slot = slot;
    if (view.state == SlotState::kUnused) return fault;
    fault.offset = offset_in(view);
    if (view.state == SlotState::kFreed) {
      fault.kind = FaultKind::kUseAfterFree;
    } else if (address < view.block) {
      fault.kind = FaultKind::kBufferUnderflow;
    } else if (address - view.block >= view.size) {
      fault.kind = FaultKind::kBufferOverflow;
    }
    return fault;
  }
  // Guard page 2i lies between slot i - 1 (before) and slot i (after).
  const std::size_t after = index / 2;
  SlotView before_view;
  SlotView after_view;
  if (after > 0) before_view = view_of(after - 1);
  if (after < layout.slots) after_view = view_of(after);
  // How far the address lies past the block before, and short of the one
  // after.
  const std::uintptr_t past_before =
      address - (before_view.block + before_view.size);
  const std::uintptr_t short_of_after = after_view.block - address;
  for (const SlotState wanted : {SlotState::kAllocated, SlotState::kFreed}) {
    const bool has_before = before_view.state == wanted;
    const bool has_after = after_view.state == wanted;
    if (!has_before && !has_after) continue;
    const bool take_before =
        has_before && (!has_after || past_before <= short_of_after);
    fault.slot = take_before ? after - 1 : after;
    fault.offset = offset_in(take_before ? before_view : after_view);
    if (wanted == SlotState::kFreed) {
      fault.kind = FaultKind::kUseAfterFree;
    } else {
      fault.kind = take_before ? FaultKind::kBufferOverflow
                               : FaultKind::kBufferUnderflow;
    }
    return fault;
  }
  return fault;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_GUARDED_CLASSIFY_FAULT_H_

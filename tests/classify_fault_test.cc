#include "allocator/guarded/classify_fault.h"

#include <cstddef>
#include <cstdint>

#include "allocator/guarded/layout.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

// The classification, on a made-up layout: slot pages at base + page,
// base + 3 page and base + 5 page.
class ClassifyFaultTest : public ::testing::Test {
 protected:
  static constexpr std::uintptr_t kBase = 0x10000000;
  static constexpr std::size_t kPage = 4096;

  [[nodiscard]] GuardedFault At(std::uintptr_t address) const {
    return ClassifyFault(layout_, address,
                         [this](std::size_t slot) { return views_[slot]; });
  }
  [[nodiscard]] std::uintptr_t Slot(std::size_t slot) const {
    return layout_.SlotStart(slot);
  }
  // A block of `size` against the end of slot `slot`'s page.
  void AtEnd(std::size_t slot, std::size_t size, SlotState state) {
    views_[slot] = SlotView{state, Slot(slot) + kPage - size, size};
  }
  void AtStart(std::size_t slot, std::size_t size, SlotState state) {
    views_[slot] = SlotView{state, Slot(slot), size};
  }

  GuardedLayout layout_{.base = kBase, .page = kPage, .slots = 3};
  SlotView views_[3];
};

void ExpectFault(const GuardedFault& fault, FaultKind kind, std::size_t slot,
                 std::ptrdiff_t offset) {
  EXPECT_EQ(FaultKindName(fault.kind), FaultKindName(kind));
  EXPECT_EQ(fault.slot, slot);
  EXPECT_EQ(fault.offset, offset);
}

TEST_F(ClassifyFaultTest, OutsideThePool) {
  ExpectFault(At(kBase - 1), FaultKind::kNotInPool, kNoSlot, 0);
  ExpectFault(At(kBase + layout_.bytes()), FaultKind::kNotInPool, kNoSlot, 0);
  ExpectFault(At(0), FaultKind::kNotInPool, kNoSlot, 0);
}

TEST_F(ClassifyFaultTest, UseAfterFreeInAFreedSlot) {
  AtEnd(1, 64, SlotState::kFreed);
  ExpectFault(At(Slot(1) + kPage - 64 + 16), FaultKind::kUseAfterFree, 1, 16);
  // Anywhere in its page.
  ExpectFault(At(Slot(1)), FaultKind::kUseAfterFree, 1, -(4096 - 64));
  // Just off it, with no live block near: still the freed block's.
  ExpectFault(At(Slot(1) + kPage), FaultKind::kUseAfterFree, 1, 64);
}

TEST_F(ClassifyFaultTest, OverflowByOne) {
  AtEnd(0, 64, SlotState::kAllocated);
  ExpectFault(At(Slot(0) + kPage), FaultKind::kBufferOverflow, 0, 64);
  // Past the end of a block that does not reach its page's end.
  AtStart(2, 10, SlotState::kAllocated);
  ExpectFault(At(Slot(2) + 10), FaultKind::kBufferOverflow, 2, 10);
}

TEST_F(ClassifyFaultTest, UnderflowByOne) {
  AtStart(1, 64, SlotState::kAllocated);
  ExpectFault(At(Slot(1) - 1), FaultKind::kBufferUnderflow, 1, -1);
  // Below a block placed against its page's end.
  AtEnd(2, 64, SlotState::kAllocated);
  ExpectFault(At(Slot(2) + kPage - 65), FaultKind::kBufferUnderflow, 2, -1);
}

TEST_F(ClassifyFaultTest, AGuardPageGoesToTheNearestAllocatedBlock) {
  AtEnd(0, 64, SlotState::kAllocated);    // Ends where the guard starts.
  AtStart(1, 64, SlotState::kAllocated);  // Starts where it ends.
  const std::uintptr_t guard = Slot(0) + kPage;
  ExpectFault(At(guard + 100), FaultKind::kBufferOverflow, 0, 164);
  ExpectFault(At(guard + kPage - 100), FaultKind::kBufferUnderflow, 1, -100);
  // An allocated block wins over a nearer freed one.
  AtStart(1, 64, SlotState::kFreed);
  ExpectFault(At(guard + kPage - 1), FaultKind::kBufferOverflow, 0,
              64 + 4096 - 1);
}

TEST_F(ClassifyFaultTest, NearNoBlockIsUnknown) {
  ExpectFault(At(kBase), FaultKind::kUnknown, kNoSlot, 0);  // First guard.
  ExpectFault(At(Slot(1) + 5), FaultKind::kUnknown, 1, 0);  // Never used.
  AtEnd(0, 64, SlotState::kAllocated);
  ExpectFault(At(Slot(0) + kPage - 1), FaultKind::kUnknown, 0, 63);  // Inside.
}

}  // namespace
}  // namespace rusty_malloc

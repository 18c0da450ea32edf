#ifndef RUSTY_MALLOC_TESTING_LIVE_BLOCKS_H_
#define RUSTY_MALLOC_TESTING_LIVE_BLOCKS_H_

// The interior-pointer checks every allocator's tests share: what IsLiveBlock
// takes for a block, and what a free of anything but a block's start aborts
// with.

#include <cstddef>

#include "gtest/gtest.h"
#include "testing/patterns.h"

namespace rusty_malloc::testing {

// What a free of anything but a live block's start aborts with.
inline constexpr char kNotABlock[] = "pointer is not a block of this heap";
inline constexpr char kNotAStart[] =
    "pointer is not the start of a block of this heap";
inline constexpr char kDoubleFree[] = "double free";

// Allocates `size` bytes and expects IsLiveBlock to accept the block's start
// and none of its other bytes. Returns nullptr if the allocation fails.
template <typename Heap>
char* AllocateWithOnlyItsStartLive(Heap& heap, std::size_t size) {
  auto* p = static_cast<char*>(heap.Allocate(size));
  if (p == nullptr) return nullptr;
  const std::size_t usable = heap.UsableSize(p);
  FillPattern(p, usable, size);
  EXPECT_TRUE(heap.IsLiveBlock(p));
  for (std::size_t offset = 1; offset < usable; ++offset) {
    if (heap.IsLiveBlock(p + offset)) {
      ADD_FAILURE() << size << " + " << offset << " is taken for a block";
      break;
    }
  }
  return p;
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_LIVE_BLOCKS_H_

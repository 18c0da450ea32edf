#ifndef RUSTY_MALLOC_TESTING_EXPECT_INTACT_H_
#define RUSTY_MALLOC_TESTING_EXPECT_INTACT_H_

#include "allocator/common/heap_report.h"
#include "gtest/gtest.h"

namespace rusty_malloc::testing {

// Adds a test failure unless `heap.Verify()` holds, with the report in the
// message. Walks the heap once: `EXPECT_TRUE(heap.Verify().ok()) <<
// heap.Verify().ToString()` would walk it twice.
template <typename Heap>
void ExpectIntact(Heap& heap) {
  const HeapReport report = heap.Verify();
  EXPECT_TRUE(report.ok()) << report.ToString();
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_EXPECT_INTACT_H_

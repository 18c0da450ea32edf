#include "allocator/common/stack_trace.h"

#include <cstdint>
#include <string>

#include "absl/base/attributes.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

constexpr int kMax = 32;

// The stack from this function (skip 0) or from its caller (skip 1).
ABSL_ATTRIBUTE_NOINLINE int CaptureHere(std::uintptr_t* pcs, int max,
                                        int skip) {
  const int depth = CaptureStack(pcs, max, skip);
  // Not a tail call: this frame stays on the stack while it unwinds.
  asm volatile("" ::: "memory");
  return depth;
}

TEST(StackTraceTest, SkipDropsTheInnermostFrames) {
  std::uintptr_t here[kMax] = {};
  std::uintptr_t caller[kMax] = {};
  const int depth = CaptureHere(here, kMax, 0);
  const int caller_depth = CaptureHere(caller, kMax, 1);
  ASSERT_GE(depth, 3);
  ASSERT_EQ(caller_depth, depth - 1);
  // From the second frame on (the test body, at another call), the same.
  for (int i = 2; i < depth; ++i) EXPECT_EQ(caller[i - 1], here[i]) << i;
  EXPECT_NE(here[0], 0u);
}

TEST(StackTraceTest, CapturesAtMostMax) {
  std::uintptr_t pcs[kMax] = {};
  EXPECT_EQ(CaptureHere(pcs, 2, 0), 2);
  EXPECT_EQ(CaptureHere(pcs, 0, 0), 0);
}

TEST(StackTraceTest, WritesEachFrameWithItsFile) {
  std::uintptr_t pcs[kMax] = {};
  const int depth = CaptureHere(pcs, kMax, 1);
  ASSERT_GE(depth, 1);
  ::testing::internal::CaptureStderr();
  WriteStack(pcs, depth);
  const std::string written = ::testing::internal::GetCapturedStderr();
  // The first frame is in this test's own binary, as an address addr2line
  // takes.
  EXPECT_TRUE(::testing::internal::RE::PartialMatch(
      written,
      "^rusty_malloc:   #0 0x[0-9a-f]+ "
      "/[^\n]*stack_trace_test\\+0x[0-9a-f]+\n"))
      << written;
}

TEST(StackTraceTest, StopsAtTheOutermostFrame) {
  const std::uintptr_t pcs[] = {0, 0x1234};
  ::testing::internal::CaptureStderr();
  WriteStack(pcs, 2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace rusty_malloc

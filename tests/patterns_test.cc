#include "testing/patterns.h"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace rusty_malloc::testing {
namespace {

// Every size around the four-word step of the fast loops, every offset.
TEST(PatternsTest, FindsTheFirstDamagedByteWhereverItIs) {
  for (const std::size_t stride : {std::size_t{1}, std::size_t{4}}) {
    for (std::size_t n = 0; n < 100; ++n) {
      std::vector<unsigned char> block(n + 8);
      unsigned char* p = block.data() + n % 8;  // Any alignment.
      FillPattern(p, n, 7, stride);
      ASSERT_EQ(FirstPatternMismatch(p, n, 7, stride), n) << n;
      for (std::size_t at = 0; at < n; ++at) {
        const std::size_t word = at / 8;
        const bool written =
            stride == 1 || word < 2 || word % stride == 0 || word + 1 >= n / 8;
        if (!written) continue;
        p[at] ^= 0x20;
        EXPECT_EQ(FirstPatternMismatch(p, n, 7, stride), at)
            << n << " " << at << " " << stride;
        p[at] ^= 0x20;
      }
    }
  }
}

TEST(PatternsTest, AnotherBlocksPatternOrAShiftedCopyDoesNotMatch) {
  std::vector<std::uint64_t> a(64);
  std::vector<std::uint64_t> b(64);
  FillPattern(a.data(), 512, 1);
  FillPattern(b.data(), 512, 2);
  EXPECT_EQ(FirstPatternMismatch(b.data(), 512, 1), 0u);
  EXPECT_EQ(FirstPatternMismatch(a.data() + 1, 504, 1), 0u);
}

TEST(PatternsTest, AShrunkBlockIsCheckedAgainstWhatWasFilled) {
  std::vector<unsigned char> block(300);
  FillPattern(block.data(), 300, 3);
  for (std::size_t n = 0; n <= 300; ++n) {
    EXPECT_EQ(FirstPatternMismatch(block.data(), n, 3, 1, 300), n) << n;
  }
}

}  // namespace
}  // namespace rusty_malloc::testing

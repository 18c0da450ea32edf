#include "allocator/common/misuse.h"

#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

TEST(MisuseDeathTest, NamesWhatAndThePointerThenAborts) {
  EXPECT_DEATH(ReportMisuse("double free", reinterpret_cast<void*>(0x1234abcd)),
               "^rusty_malloc: double free: 0x000000001234abcd\n");
  EXPECT_DEATH(ReportMisuse("bad pointer", nullptr),
               "rusty_malloc: bad pointer: 0x0000000000000000");
}

}  // namespace
}  // namespace rusty_malloc

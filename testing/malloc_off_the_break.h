#ifndef RUSTY_MALLOC_TESTING_MALLOC_OFF_THE_BREAK_H_
#define RUSTY_MALLOC_TESTING_MALLOC_OFF_THE_BREAK_H_

#include <malloc.h>

#include <cstdlib>

namespace rusty_malloc::testing {

// For tests of the program break, from their SetUpTestSuite: glibc's malloc
// in the same process moves the break too. This gives it a large slack at
// the top now and stops it trimming, so it stays off the break while a test
// runs and only the moves a test makes on purpose happen. (Under ASan and
// TSan malloc never uses the break at all.)
inline void KeepMallocOffTheBreak() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  // Volatile, so that the compiler keeps the pair that takes the slack.
  void* volatile block = std::malloc(1 << 20);
  std::free(block);
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_MALLOC_OFF_THE_BREAK_H_

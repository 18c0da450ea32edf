// RustyMalloc under concurrent alloc and free (fuzz/concurrent_harness.h).
// Built under ASan+UBSan (--config=fuzz) and TSan (--config=fuzz_tsan).

#include <cstddef>

#include "allocator/contiguous/rusty_malloc.h"
#include "fuzz/concurrent_harness.h"
#include "fuzz/fuzz_input.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc::fuzzing {

void FuzzOne(FuzzInput& in) {
  RustyMalloc<MmapGrower> heap(MmapGrower(std::size_t{1} << 30));
  RunConcurrently(heap, /*verify_while_running=*/true, in.Rest());
}

}  // namespace rusty_malloc::fuzzing

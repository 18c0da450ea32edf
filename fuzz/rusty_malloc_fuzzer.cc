// RustyMalloc under concurrent alloc and free (fuzz/concurrent_harness.h).
// Built under ASan+UBSan (--config=fuzz) and TSan (--config=fuzz_tsan).

#include <cstddef>
#include <cstdint>

#include "allocator/contiguous/rusty_malloc.h"
#include "fuzz/concurrent_harness.h"
#include "growers/mmap_grower.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  rusty_malloc::RustyMalloc<rusty_malloc::MmapGrower> heap(
      rusty_malloc::MmapGrower(std::size_t{1} << 30));
  rusty_malloc::fuzzing::RunConcurrently(heap, /*verify_while_running=*/true,
                                         data, size);
  return 0;
}

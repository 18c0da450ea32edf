// libFuzzer's entry point for every harness (and the replay main's): the
// harness itself is FuzzOne (fuzz/fuzz_input.h).

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  rusty_malloc::fuzzing::FuzzInput in(data, size);
  rusty_malloc::fuzzing::FuzzOne(in);
  return 0;
}

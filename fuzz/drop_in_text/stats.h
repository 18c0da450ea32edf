// Part of drop_in_text_fuzzer: the statistics the drop-in writes, every
// formatter over arbitrary figures, apart from the options because they
// share nothing but the input.

#ifndef RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_STATS_H_
#define RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_STATS_H_

#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing::drop_in_text {

// Reads figures and a buffer size from `in`, and checks every formatter
// (the drop-in's line and JSON, malloc_stats, malloc_info, mallinfo2 and
// mallinfo) over them. Aborts on any failure.
void Stats(FuzzInput& in);

}  // namespace rusty_malloc::fuzzing::drop_in_text

#endif  // RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_STATS_H_

// The drop-in's text, both ways, as pure functions: the options it reads
// from the environment (allocator/drop_in/runtime_options.h: each parser,
// and ReadOptions through an injected lookup) and the statistics it writes
// (allocator/drop_in/stats_format.h: its own line and JSON, glibc's
// malloc_stats text and malloc_info XML, mallinfo2 and mallinfo) over
// arbitrary figures. The first byte picks which. Parsers are checked
// against the rules written again here (not the implementation's
// arithmetic reused), and against numbers printed and read back; formatters
// write into a buffer of exactly the size they are given (ASan reports a
// byte past it), must NUL-terminate it, return the length they needed,
// fit the 640 bytes malloc.cc formats into whatever the figures, and read
// back as the figures (the JSON through a parser of its own).
//
// The harness's parts, in fuzz/drop_in_text/: the options (options.cc)
// against their rules (option_rules.cc), and the statistics (stats.cc)
// with a JSON reader of their own (json_reader.cc).

#include "fuzz/drop_in_text/options.h"
#include "fuzz/drop_in_text/stats.h"
#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing {

void FuzzOne(FuzzInput& in) {
  if (in.Byte() % 2 == 0) {
    drop_in_text::Options(in);
  } else {
    drop_in_text::Stats(in);
  }
}

}  // namespace rusty_malloc::fuzzing

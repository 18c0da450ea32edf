// Part of drop_in_text_fuzzer: the options the drop-in reads from the
// environment, each parser alone and ReadOptions through an injected
// lookup, against the rules in option_rules.h.

#ifndef RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_OPTIONS_H_
#define RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_OPTIONS_H_

#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing::drop_in_text {

// Reads one value (and a few numbers to print and read back) from `in`,
// then an environment, and checks what the parsers and ReadOptions make of
// them. Aborts on any disagreement.
void Options(FuzzInput& in);

}  // namespace rusty_malloc::fuzzing::drop_in_text

#endif  // RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_OPTIONS_H_

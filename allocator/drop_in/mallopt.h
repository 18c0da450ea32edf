#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_MALLOPT_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_MALLOPT_H_

#include "allocator/common/tunables.h"

namespace rusty_malloc {

// glibc's mallopt(param, value) on this allocator's settings; true (mallopt
// returns 1) when applied. What maps:
//   M_TRIM_THRESHOLD: free memory glibc keeps before trimming; here the
//     retained-memory bound (RUSTY_MALLOC_RETAIN_MAX), the value converted
//     as glibc does (-1 is SIZE_MAX: no bound).
//   M_CHECK_ACTION: misuse always aborts here, so the values that ask for an
//     abort (bit 2) are accepted and change nothing; the others are refused.
// Every other parameter (arenas, fastbins, mmap threshold, perturbation,
// top pad) has no counterpart here and is refused, so that a program can
// tell its setting has no effect. glibc 2.36 returns 1 even for parameters
// it does not know; a program that checks the result sees the difference.
[[nodiscard]] bool ApplyMallopt(int param, int value, Tunables& tunables);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_MALLOPT_H_

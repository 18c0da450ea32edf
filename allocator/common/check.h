#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_CHECK_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_CHECK_H_

#include "absl/base/optimization.h"
#include "allocator/common/misuse.h"

// Contracts checked at run time. A failed check reports through the misuse
// reporter ("rusty_malloc: check failed: FILE:LINE: CONDITION: ADDRESS",
// with the stack) and aborts; like it, a check neither allocates nor takes
// a lock, so it is safe anywhere in the allocator.
//
// RUSTY_MALLOC_CHECK(condition, address): always on, for what must never
// pass silently whatever the build.
// RUSTY_MALLOC_DCHECK(condition, address): on in builds without NDEBUG (the
// default and sanitizer configs, the fuzzers) and compiled out, the
// condition not evaluated, under -c opt; RUSTY_MALLOC_DCHECKS=1 or 0 forces
// either. For contracts whose check costs the fast path or a walk.
// `address` is what the report prints: the page, block or chunk concerned.

#ifndef RUSTY_MALLOC_DCHECKS
#ifdef NDEBUG
#define RUSTY_MALLOC_DCHECKS 0
#else
#define RUSTY_MALLOC_DCHECKS 1
#endif
#endif

#define RUSTY_MALLOC_CHECK_STRINGIFY_(x) #x
#define RUSTY_MALLOC_CHECK_STRINGIFY(x) RUSTY_MALLOC_CHECK_STRINGIFY_(x)

#define RUSTY_MALLOC_CHECK(condition, address)                        \
  do {                                                                \
    if (ABSL_PREDICT_FALSE(!(condition))) {                           \
      ::rusty_malloc::ReportMisuse(                                   \
          "check failed: " __FILE__                                   \
          ":" RUSTY_MALLOC_CHECK_STRINGIFY(__LINE__) ": " #condition, \
          (address));                                                 \
    }                                                                 \
  } while (false)

#if RUSTY_MALLOC_DCHECKS
#define RUSTY_MALLOC_DCHECK(condition, address) \
  RUSTY_MALLOC_CHECK(condition, address)
#else
// Not evaluated, but still compiled: a DCHECK cannot rot in -c opt.
#define RUSTY_MALLOC_DCHECK(condition, address) \
  do {                                          \
    if (false) {                                \
      (void)(condition);                        \
      (void)(address);                          \
    }                                           \
  } while (false)
#endif

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_CHECK_H_

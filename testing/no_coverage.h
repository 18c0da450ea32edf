#ifndef RUSTY_MALLOC_TESTING_NO_COVERAGE_H_
#define RUSTY_MALLOC_TESTING_NO_COVERAGE_H_

// Functions defined between RUSTY_MALLOC_NO_COVERAGE_BEGIN and _END get no
// coverage instrumentation. For test models and harness loops under a
// fuzzer: their branches say nothing about the heap under test, and their
// coverage would only add features for libFuzzer to track and callbacks
// that cost more than the heap operations they drive.
#if defined(__clang__)
// _Pragma takes one string literal, which must not be split.
// clang-format off
#define RUSTY_MALLOC_NO_COVERAGE_BEGIN _Pragma("clang attribute push(__attribute__((no_sanitize(\"coverage\"))), apply_to = function)")
// clang-format on
#define RUSTY_MALLOC_NO_COVERAGE_END _Pragma("clang attribute pop")
#else
#define RUSTY_MALLOC_NO_COVERAGE_BEGIN
#define RUSTY_MALLOC_NO_COVERAGE_END
#endif

#endif  // RUSTY_MALLOC_TESTING_NO_COVERAGE_H_

// Linked into the fuzzers only (never into tests or the library).
//
// libFuzzer's inline 8-bit coverage counters are bumped with plain stores by
// every thread that runs instrumented code, so under TSan every concurrent
// harness "races" on them. The suppression matches races located in that
// counter section only, by its symbol, so a race on any of our own memory is
// still reported. (libFuzzer 14 no longer accepts the callback-based
// trace-pc-guard coverage that would avoid the stores.)

#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define RUSTY_MALLOC_UNINSTRUMENTED \
  __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef RUSTY_MALLOC_UNINSTRUMENTED
#define RUSTY_MALLOC_UNINSTRUMENTED
#endif

// TSan calls this while it initialises, before instrumented code may run.
extern "C" RUSTY_MALLOC_UNINSTRUMENTED const char*
__tsan_default_suppressions() {
  return "race:__start___sancov_cntrs\n";
}

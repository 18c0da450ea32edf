#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_MONOTONIC_CLOCK_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_MONOTONIC_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace rusty_malloc {

// Nanoseconds on `clock`, as one integer.
inline std::int64_t ClockNs(clockid_t clock) {
  timespec now;
  clock_gettime(clock, &now);
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// Nanoseconds on the coarse monotonic clock: a vDSO read with no syscall,
// whose tick (a few ms) is far finer than the purge delays it times.
inline std::int64_t CoarseNowNs() { return ClockNs(CLOCK_MONOTONIC_COARSE); }

// Nanoseconds on the monotonic clock, for timing what takes microseconds:
// a vDSO read too, a few tens of nanoseconds.
inline std::int64_t NowNs() { return ClockNs(CLOCK_MONOTONIC); }

// Nanoseconds of CPU time the calling thread has used: a syscall (the
// vDSO does not serve this clock), a few hundred nanoseconds, for timing
// work that takes microseconds as the thread's own cost, which the time it
// spent descheduled or waiting is not.
inline std::int64_t ThreadCpuNs() { return ClockNs(CLOCK_THREAD_CPUTIME_ID); }

// How long free memory is kept for reuse before it goes back to the OS, by
// default, in every heap that purges.
inline constexpr std::int64_t kDefaultPurgeDelayNs = 1'000'000'000;

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_MONOTONIC_CLOCK_H_

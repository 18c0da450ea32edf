#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_TUNABLES_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_TUNABLES_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "allocator/common/monotonic_clock.h"

namespace rusty_malloc {

// A purge delay that never falls due, yet leaves room for `now + delay`.
inline constexpr std::int64_t kNeverPurgeNs = std::int64_t{1} << 62;

// Whether housekeeping that waits for the purge delay (purging, releasing
// abandoned heaps, reclaiming idle ones) runs only when due or now.
enum class Due { kWhenDue, kNow };

// What a misuse report does after writing its line.
enum class MisuseAction : int {
  kAbort,
  kAbortWithStackTrace,
};

// The process's settings for every heap in it. The drop-in sets them from
// the environment when it loads and from mallopt; library users may set
// them at any time. Atomics read relaxed on slow paths only: a change takes
// effect at each heap's next purge decision, not retroactively.
struct Tunables {
  // How long free memory is kept for reuse before it goes back to the OS,
  // in [0, kNeverPurgeNs]; PurgeDelayNs() clamps a value outside.
  std::atomic<std::int64_t> purge_delay_ns{kDefaultPurgeDelayNs};
  // Bound on the free memory each cache keeps committed for reuse: the
  // large-block cache's mappings, and the chunk source's released chunks.
  std::atomic<std::size_t> retained_bytes_max{std::size_t{256} << 20};
  // Failed calls (ENOMEM, EINVAL) write a line to stderr.
  std::atomic<bool> verbose{false};
  std::atomic<MisuseAction> misuse_action{MisuseAction::kAbort};
};

namespace tunables_internal {
inline constinit Tunables tunables;
}  // namespace tunables_internal

inline Tunables& TheTunables() { return tunables_internal::tunables; }

[[nodiscard]] inline std::int64_t PurgeDelayNs() {
  return std::clamp(
      TheTunables().purge_delay_ns.load(std::memory_order_relaxed),
      std::int64_t{0}, kNeverPurgeNs);
}

// How often the heaps' shared housekeeping runs (abandoned heaps' memory
// taken over and purged, released chunks purged, the medium heap purged):
// the purge delay, but at least every second and at most every 4 ms. That
// work also hands abandoned heaps' chunks on to other threads, so it must
// not stop with a purge delay of "never", and it takes locks, so it must not
// run on every call with a delay of 0.
inline constexpr std::int64_t kMinHousekeepingIntervalNs = 4'000'000;
[[nodiscard]] inline std::int64_t HousekeepingIntervalNs() {
  return std::clamp(PurgeDelayNs(), kMinHousekeepingIntervalNs,
                    kDefaultPurgeDelayNs);
}
[[nodiscard]] inline std::size_t RetainedBytesMax() {
  return TheTunables().retained_bytes_max.load(std::memory_order_relaxed);
}
[[nodiscard]] inline bool Verbose() {
  return TheTunables().verbose.load(std::memory_order_relaxed);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_TUNABLES_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_RUNTIME_OPTIONS_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_RUNTIME_OPTIONS_H_

// The drop-in's settings from the environment (docs/options.md), read
// once when the library loads, before main and without allocating. Parsing
// is pure functions, so every rule is tested apart from the process's
// environment; a value they refuse leaves the default and one warning line.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "allocator/common/tunables.h"
#include "allocator/guarded/guarded_pool.h"
#include "allocator/sampling/sampler.h"
#include "allocator/trace/recorder.h"

namespace rusty_malloc {

enum class StatsFormat : int {
  kNone,
  kText,
  kJson,
};

inline constexpr std::size_t kMaxProfilePath = 1024;

// What the environment sets beyond Tunables.
struct DropInOptions {
  StatsFormat stats_at_exit = StatsFormat::kNone;
  // The sampler: a sample every sample_bytes allocated on average, paced to
  // 1/pacing_share of a thread's CPU time (0: unpaced), one in guarded_every of
  // them guarded (0: none, and no sampling) in a pool of guarded_slots slots
  // placed as guarded_placement says.
  std::size_t sample_bytes = std::size_t{2} << 20;
  std::uint32_t pacing_share = Sampler::kDefaultPacingShare;
  std::uint32_t guarded_every = 0;
  std::uint32_t guarded_slots = 64;
  GuardedPlacement guarded_placement = GuardedPlacement::kAlternate;
  // Where the heap profile goes at exit (and PATH.peak, the heap at its
  // largest); empty: no profiling.
  char heap_profile_path[kMaxProfilePath] = {};
  // A signal that writes the live profile to PATH.0001, PATH.0002, ... (0:
  // none).
  std::uint32_t heap_profile_signal = 0;
  // Where every allocation call is recorded (allocator/trace); empty: not
  // recorded. What a fork's child does with it.
  char trace_path[trace::kMaxTracePath] = {};
  trace::ForkMode trace_fork = trace::ForkMode::kStop;
};

// RUSTY_MALLOC_PURGE_DELAY_MS: milliseconds, or -1 for never (malloc_trim
// still purges). The result is in nanoseconds.
[[nodiscard]] std::optional<std::int64_t> ParsePurgeDelay(const char* text);
// RUSTY_MALLOC_RETAIN_MAX: bytes, with an optional K, M or G (powers of
// 1024).
[[nodiscard]] std::optional<std::size_t> ParseBytes(const char* text);
// RUSTY_MALLOC_STATS: 0, 1 or text, json.
[[nodiscard]] std::optional<StatsFormat> ParseStatsFormat(const char* text);
// RUSTY_MALLOC_VERBOSE: 0 or 1.
[[nodiscard]] std::optional<bool> ParseSwitch(const char* text);
// RUSTY_MALLOC_ON_MISUSE: abort, or trace (abort after a stack trace).
[[nodiscard]] std::optional<MisuseAction> ParseMisuseAction(const char* text);
// RUSTY_MALLOC_GUARDED_SAMPLE_RATE and RUSTY_MALLOC_GUARDED_SLOTS: a count
// up to 2^32 - 1.
[[nodiscard]] std::optional<std::uint32_t> ParseCount(const char* text);
// RUSTY_MALLOC_GUARDED_PLACEMENT: end (overflows fault), start (underflows
// fault) or alternate.
[[nodiscard]] std::optional<GuardedPlacement> ParsePlacement(const char* text);
// RUSTY_MALLOC_HEAP_PROFILE: a path, not empty, shorter than
// kMaxProfilePath - 5 (room for ".peak").
[[nodiscard]] std::optional<const char*> ParseProfilePath(const char* text);

// RUSTY_MALLOC_TRACE: a path, not empty, with room for a ".PID" suffix.
[[nodiscard]] std::optional<const char*> ParseTracePath(const char* text);
// RUSTY_MALLOC_TRACE_FORK: stop, or child (records to PATH.PID).
[[nodiscard]] std::optional<trace::ForkMode> ParseTraceFork(const char* text);

// Reads every option through `lookup` (getenv, or a test's table) into
// `tunables` and the returned options; for each value refused, calls `warn`
// with the variable, its value and what it takes.
using EnvLookup = const char* (*)(const char* name);
using OptionWarning = void (*)(const char* name, const char* value,
                               const char* expected);
DropInOptions ReadOptions(EnvLookup lookup, OptionWarning warn,
                          Tunables& tunables);

// The options the drop-in read when it loaded.
[[nodiscard]] const DropInOptions& TheDropInOptions();

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_RUNTIME_OPTIONS_H_

#include "allocator/drop_in/runtime_options.h"

#include <cstdlib>
#include <cstring>

#include "allocator/common/log_line.h"

namespace rusty_malloc {
namespace {

// Digits only, no sign or space, and no overflow: strtoull takes "-1" and
// " 12" and saturates silently.
std::optional<std::uint64_t> ParseUnsigned(const char* text, const char** end) {
  if (*text < '0' || *text > '9') return std::nullopt;
  std::uint64_t value = 0;
  for (; *text >= '0' && *text <= '9'; ++text) {
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, *text - '0', &value)) {
      return std::nullopt;
    }
  }
  *end = text;
  return value;
}

bool Is(const char* text, const char* word) {
  return std::strcmp(text, word) == 0;
}

}  // namespace

std::optional<std::int64_t> ParsePurgeDelay(const char* text) {
  if (Is(text, "-1")) return kNeverPurgeNs;
  const char* end = text;
  const std::optional<std::uint64_t> ms = ParseUnsigned(text, &end);
  // Past a million years, "never" is what is meant anyway.
  if (!ms || *end != '\0' || *ms >= std::uint64_t{kNeverPurgeNs} / 1'000'000) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(*ms) * 1'000'000;
}

std::optional<std::size_t> ParseBytes(const char* text) {
  const char* end = text;
  std::optional<std::uint64_t> bytes = ParseUnsigned(text, &end);
  if (!bytes) return std::nullopt;
  int shift = 0;
  switch (*end) {
    case '\0':
      break;
    case 'K':
    case 'k':
      shift = 10;
      break;
    case 'M':
    case 'm':
      shift = 20;
      break;
    case 'G':
    case 'g':
      shift = 30;
      break;
    default:
      return std::nullopt;
  }
  if (shift != 0 && *++end != '\0') return std::nullopt;
  if (*bytes > (SIZE_MAX >> shift)) return std::nullopt;
  return static_cast<std::size_t>(*bytes << shift);
}

std::optional<StatsFormat> ParseStatsFormat(const char* text) {
  if (Is(text, "0")) return StatsFormat::kNone;
  if (Is(text, "1") || Is(text, "text")) return StatsFormat::kText;
  if (Is(text, "json")) return StatsFormat::kJson;
  return std::nullopt;
}

std::optional<bool> ParseSwitch(const char* text) {
  if (Is(text, "0")) return false;
  if (Is(text, "1")) return true;
  return std::nullopt;
}

std::optional<MisuseAction> ParseMisuseAction(const char* text) {
  if (Is(text, "abort")) return MisuseAction::kAbort;
  if (Is(text, "trace")) return MisuseAction::kAbortWithStackTrace;
  return std::nullopt;
}

std::optional<std::uint32_t> ParseCount(const char* text) {
  const char* end = text;
  const std::optional<std::uint64_t> count = ParseUnsigned(text, &end);
  if (!count || *end != '\0' || *count > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(*count);
}

std::optional<GuardedPlacement> ParsePlacement(const char* text) {
  if (Is(text, "end")) return GuardedPlacement::kAgainstEnd;
  if (Is(text, "start")) return GuardedPlacement::kAgainstStart;
  if (Is(text, "alternate")) return GuardedPlacement::kAlternate;
  return std::nullopt;
}

std::optional<const char*> ParseProfilePath(const char* text) {
  const std::size_t length = std::strlen(text);
  if (length == 0 || length >= kMaxProfilePath - 5) return std::nullopt;
  return text;
}

std::optional<const char*> ParseTracePath(const char* text) {
  const std::size_t length = std::strlen(text);
  if (length == 0 || length >= trace::kMaxTracePath - 32) return std::nullopt;
  return text;
}

std::optional<trace::ForkMode> ParseTraceFork(const char* text) {
  if (Is(text, "stop")) return trace::ForkMode::kStop;
  if (Is(text, "child")) return trace::ForkMode::kChild;
  return std::nullopt;
}

DropInOptions ReadOptions(EnvLookup lookup, OptionWarning warn,
                          Tunables& tunables) {
  DropInOptions options;
  // An option's value goes to `apply` when parsed, else to `warn`.
  auto read = [&](const char* name, auto parse, const char* expected,
                  auto apply) {
    const char* text = lookup(name);
    if (text == nullptr) return;
    if (auto value = parse(text)) {
      apply(*value);
    } else {
      warn(name, text, expected);
    }
  };
  constexpr auto kRelaxed = std::memory_order_relaxed;
  read("RUSTY_MALLOC_PURGE_DELAY_MS", ParsePurgeDelay,
       "milliseconds, or -1 for never",
       [&](std::int64_t ns) { tunables.purge_delay_ns.store(ns, kRelaxed); });
  read("RUSTY_MALLOC_RETAIN_MAX", ParseBytes, "bytes, with K, M or G",
       [&](std::size_t bytes) {
         tunables.retained_bytes_max.store(bytes, kRelaxed);
       });
  read("RUSTY_MALLOC_STATS", ParseStatsFormat, "0, 1, text or json",
       [&](StatsFormat format) { options.stats_at_exit = format; });
  read("RUSTY_MALLOC_VERBOSE", ParseSwitch, "0 or 1",
       [&](bool on) { tunables.verbose.store(on, kRelaxed); });
  read("RUSTY_MALLOC_ON_MISUSE", ParseMisuseAction, "abort or trace",
       [&](MisuseAction action) {
         tunables.misuse_action.store(action, kRelaxed);
       });
  read("RUSTY_MALLOC_SAMPLE_BYTES", ParseBytes, "bytes, with K, M or G",
       [&](std::size_t bytes) { options.sample_bytes = bytes; });
  read("RUSTY_MALLOC_GUARDED_SAMPLE_RATE", ParseCount, "a count, 0 for off",
       [&](std::uint32_t every) { options.guarded_every = every; });
  read("RUSTY_MALLOC_GUARDED_SLOTS", ParseCount, "a count of at least 1",
       [&](std::uint32_t slots) {
         options.guarded_slots = slots == 0 ? 1 : slots;
       });
  read("RUSTY_MALLOC_GUARDED_PLACEMENT", ParsePlacement,
       "end, start or alternate", [&](GuardedPlacement placement) {
         options.guarded_placement = placement;
       });
  read("RUSTY_MALLOC_HEAP_PROFILE", ParseProfilePath,
       "a file path, shorter than 1019 bytes", [&](const char* path) {
         std::memcpy(options.heap_profile_path, path, std::strlen(path) + 1);
       });
  read("RUSTY_MALLOC_SAMPLE_PACING", ParseCount, "a count, 0 for unpaced",
       [&](std::uint32_t share) { options.pacing_share = share; });
  read("RUSTY_MALLOC_HEAP_PROFILE_SIGNAL", ParseCount,
       "a signal number, 0 for none",
       [&](std::uint32_t signal) { options.heap_profile_signal = signal; });
  read("RUSTY_MALLOC_TRACE", ParseTracePath,
       "a file path, shorter than 992 bytes", [&](const char* path) {
         std::memcpy(options.trace_path, path, std::strlen(path) + 1);
       });
  read("RUSTY_MALLOC_TRACE_FORK", ParseTraceFork, "stop or child",
       [&](trace::ForkMode mode) { options.trace_fork = mode; });
  return options;
}

namespace {

constinit DropInOptions drop_in_options;

void WarnOnStderr(const char* name, const char* value, const char* expected) {
  LogLine("ignoring %s=%.64s: expected %s", name, value, expected);
}

// Before the program's own constructors (a preloaded library's run first;
// 101 is the first priority left to programs), so only what the loader and
// other libraries allocate before it sees the defaults. secure_getenv only
// reads environ, and reads nothing in a set-user-ID or set-group-ID program
// (AT_SECURE), as glibc's own MALLOC_ tunables: there the environment is
// the calling user's, and a misuse stack trace would show them the
// program's addresses.
__attribute__((constructor(101))) void ReadEnvironment() {
  drop_in_options = ReadOptions(
      [](const char* name) -> const char* { return secure_getenv(name); },
      WarnOnStderr, TheTunables());
}

}  // namespace

const DropInOptions& TheDropInOptions() { return drop_in_options; }

}  // namespace rusty_malloc

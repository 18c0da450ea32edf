// Part of drop_in_text_fuzzer: the options (see options.h): the values an
// input decodes to, the environment ReadOptions sees, and the checks.

#include "fuzz/drop_in_text/options.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "allocator/common/tunables.h"
#include "allocator/drop_in/runtime_options.h"
#include "fuzz/drop_in_text/option_rules.h"
#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing::drop_in_text {
namespace {

constexpr const char* kNames[] = {"RUSTY_MALLOC_PURGE_DELAY_MS",
                                  "RUSTY_MALLOC_RETAIN_MAX",
                                  "RUSTY_MALLOC_STATS",
                                  "RUSTY_MALLOC_VERBOSE",
                                  "RUSTY_MALLOC_ON_MISUSE",
                                  "RUSTY_MALLOC_SAMPLE_BYTES",
                                  "RUSTY_MALLOC_GUARDED_SAMPLE_RATE",
                                  "RUSTY_MALLOC_GUARDED_SLOTS",
                                  "RUSTY_MALLOC_GUARDED_PLACEMENT",
                                  "RUSTY_MALLOC_HEAP_PROFILE",
                                  "RUSTY_MALLOC_SAMPLE_PACING",
                                  "RUSTY_MALLOC_HEAP_PROFILE_SIGNAL",
                                  "RUSTY_MALLOC_TRACE",
                                  "RUSTY_MALLOC_TRACE_FORK"};
constexpr int kOptions = 14;

// A value for an option: bytes from the input up to a NUL (or its end),
// or now and then a word the parsers know, so that every branch is near.
std::string Value(FuzzInput& in) {
  static constexpr const char* kWords[] = {"-1",
                                           "0",
                                           "1",
                                           "text",
                                           "json",
                                           "abort",
                                           "trace",
                                           "end",
                                           "start",
                                           "alternate",
                                           "stop",
                                           "child",
                                           "4294967295",
                                           "4294967296",
                                           "4K",
                                           "64m",
                                           "1G",
                                           "18446744073709551615",
                                           "17592186044415G",
                                           "9223372036853",
                                           "9223372036854",
                                           ""};
  const std::uint8_t how = in.Byte();
  if (how < 0x30) return kWords[how % std::size(kWords)];
  std::string text;
  for (std::size_t n = how % 24; n > 0 && !in.empty(); --n) {
    const char c = static_cast<char>(in.Byte());
    if (c == '\0') break;
    text.push_back(c);
  }
  return text;
}

// The environment ReadOptions sees (a plain function pointer takes no
// state: the one input being run sets it).
struct Environment {
  std::optional<std::string> values[kOptions];
  int lookups[kOptions] = {};
  int warnings[kOptions] = {};
  int strays = 0;  // Lookups or warnings for a name that is not an option.
};
Environment* environment = nullptr;

int IndexOf(const char* name) {
  for (int i = 0; i < kOptions; ++i) {
    if (std::strcmp(name, kNames[i]) == 0) return i;
  }
  return -1;
}

const char* Lookup(const char* name) {
  const int i = IndexOf(name);
  if (i < 0) {
    ++environment->strays;
    return nullptr;
  }
  ++environment->lookups[i];
  return environment->values[i] ? environment->values[i]->c_str() : nullptr;
}

void Warn(const char* name, const char* value, const char* expected) {
  const int i = IndexOf(name);
  if (i < 0 || value == nullptr || expected == nullptr || *expected == '\0' ||
      !environment->values[i] || *environment->values[i] != value) {
    ++environment->strays;
    return;
  }
  ++environment->warnings[i];
}

template <typename T>
void Same(const std::optional<T>& got, const std::optional<T>& want,
          const char* parser, const std::string& text) {
  if (got != want) Require(std::string(parser) + " on \"" + text + "\"");
}

}  // namespace

void Options(FuzzInput& in) {
  // Each parser alone, on a value, and on numbers printed and read back.
  const std::string text = Value(in);
  Same(ParsePurgeDelay(text.c_str()), ExpectedPurgeDelay(text),
       "ParsePurgeDelay", text);
  Same(ParseBytes(text.c_str()), ExpectedBytes(text), "ParseBytes", text);
  Same(ParseStatsFormat(text.c_str()), ExpectedStatsFormat(text),
       "ParseStatsFormat", text);
  Same(ParseSwitch(text.c_str()), ExpectedSwitch(text), "ParseSwitch", text);
  Same(ParseMisuseAction(text.c_str()), ExpectedMisuseAction(text),
       "ParseMisuseAction", text);
  Same(ParseCount(text.c_str()), ExpectedCount(text), "ParseCount", text);
  Same(ParsePlacement(text.c_str()), ExpectedPlacement(text), "ParsePlacement",
       text);
  const std::optional<const char*> path = ParseProfilePath(text.c_str());
  Same(path ? std::optional<std::string_view>(*path) : std::nullopt,
       ExpectedProfilePath(text), "ParseProfilePath", text);
  const std::optional<const char*> trace_path = ParseTracePath(text.c_str());
  Same(trace_path ? std::optional<std::string_view>(*trace_path) : std::nullopt,
       ExpectedTracePath(text), "ParseTracePath", text);
  Same(ParseTraceFork(text.c_str()), ExpectedTraceFork(text), "ParseTraceFork",
       text);
  std::uint64_t number = 0;
  for (int i = 0; i < 8; ++i) number = number << 8 | in.Byte();
  number >>= in.Byte() % 64;
  const std::string printed = std::to_string(number);
  static constexpr const char* kSuffixes[] = {"", "K", "m", "G"};
  const int suffix = in.Byte() % 4;
  const std::optional<std::size_t> bytes =
      ParseBytes((printed + kSuffixes[suffix]).c_str());
  if (number <= (SIZE_MAX >> (10 * suffix)) &&
      bytes != (number << (10 * suffix))) {
    Require("ParseBytes does not read back " + printed + kSuffixes[suffix]);
  }
  const std::optional<std::int64_t> delay = ParsePurgeDelay(printed.c_str());
  if (number < static_cast<std::uint64_t>(kNeverPurgeNs) / 1'000'000 &&
      delay != static_cast<std::int64_t>(number) * 1'000'000) {
    Require("ParsePurgeDelay does not read back " + printed);
  }

  // ReadOptions over an environment: every option looked up once; each
  // value set goes where the table says, or is warned about once and
  // leaves the default.
  Environment env;
  for (int i = 0; i < kOptions; ++i) {
    if (in.Byte() % 3 != 0) env.values[i] = Value(in);
  }
  environment = &env;
  Tunables tunables;
  const DropInOptions options = ReadOptions(&Lookup, &Warn, tunables);
  environment = nullptr;
  if (env.strays != 0) Require("ReadOptions asked for or warned of a stray");
  const Tunables defaults;
  for (int i = 0; i < kOptions; ++i) {
    if (env.lookups[i] != 1) Require(std::string(kNames[i]) + " not read once");
    const std::optional<std::string>& value = env.values[i];
    bool valid = false;
    if (value) {
      switch (i) {
        case 0:
          valid = ExpectedPurgeDelay(*value).has_value();
          break;
        case 1:
          valid = ExpectedBytes(*value).has_value();
          break;
        case 2:
          valid = ExpectedStatsFormat(*value).has_value();
          break;
        case 3:
          valid = ExpectedSwitch(*value).has_value();
          break;
        case 4:
          valid = ExpectedMisuseAction(*value).has_value();
          break;
        case 5:
          valid = ExpectedBytes(*value).has_value();
          break;
        case 6:
        case 7:
        case 10:
        case 11:
          valid = ExpectedCount(*value).has_value();
          break;
        case 8:
          valid = ExpectedPlacement(*value).has_value();
          break;
        case 9:
          valid = ExpectedProfilePath(*value).has_value();
          break;
        case 12:
          valid = ExpectedTracePath(*value).has_value();
          break;
        case 13:
          valid = ExpectedTraceFork(*value).has_value();
          break;
      }
    }
    if (env.warnings[i] != (value && !valid ? 1 : 0)) {
      Require(std::string("warnings for ") + kNames[i]);
    }
  }
  auto use = [&](int i, auto expected, auto fallback) {
    const auto parsed = env.values[i] ? expected(*env.values[i]) : std::nullopt;
    return parsed ? *parsed : fallback;
  };
  if (tunables.purge_delay_ns.load() !=
          use(0, ExpectedPurgeDelay, defaults.purge_delay_ns.load()) ||
      tunables.retained_bytes_max.load() !=
          use(1, ExpectedBytes, defaults.retained_bytes_max.load()) ||
      options.stats_at_exit !=
          use(2, ExpectedStatsFormat, DropInOptions().stats_at_exit) ||
      tunables.verbose.load() != use(3, ExpectedSwitch, false) ||
      tunables.misuse_action.load() !=
          use(4, ExpectedMisuseAction, defaults.misuse_action.load()) ||
      options.sample_bytes !=
          use(5, ExpectedBytes, DropInOptions().sample_bytes) ||
      options.guarded_every != use(6, ExpectedCount, std::uint32_t{0}) ||
      options.guarded_slots !=
          std::max(std::uint32_t{1},
                   use(7, ExpectedCount, DropInOptions().guarded_slots)) ||
      options.guarded_placement !=
          use(8, ExpectedPlacement, GuardedPlacement::kAlternate) ||
      std::string_view(options.heap_profile_path) !=
          use(9, ExpectedProfilePath, std::string_view()) ||
      options.pacing_share !=
          use(10, ExpectedCount, DropInOptions().pacing_share) ||
      options.heap_profile_signal != use(11, ExpectedCount, std::uint32_t{0}) ||
      std::string_view(options.trace_path) !=
          use(12, ExpectedTracePath, std::string_view()) ||
      options.trace_fork !=
          use(13, ExpectedTraceFork, trace::ForkMode::kStop)) {
    Require("ReadOptions' settings are not the environment's");
  }
}

}  // namespace rusty_malloc::fuzzing::drop_in_text

// Part of drop_in_text_fuzzer: the options' rules (see option_rules.h);
// overflow is caught by 128-bit arithmetic, not by the parsers' own.

#include "fuzz/drop_in_text/option_rules.h"

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "allocator/common/tunables.h"
#include "allocator/drop_in/runtime_options.h"

namespace rusty_malloc::fuzzing::drop_in_text {
namespace {

std::optional<std::uint64_t> Digits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  unsigned __int128 value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > UINT64_MAX) return std::nullopt;
  }
  return static_cast<std::uint64_t>(value);
}

}  // namespace

std::optional<std::int64_t> ExpectedPurgeDelay(std::string_view text) {
  if (text == "-1") return kNeverPurgeNs;
  const auto ms = Digits(text);
  if (!ms || *ms >= static_cast<std::uint64_t>(kNeverPurgeNs) / 1'000'000) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(*ms * 1'000'000);
}

std::optional<std::size_t> ExpectedBytes(std::string_view text) {
  int shift = 0;
  if (!text.empty()) {
    switch (std::tolower(static_cast<unsigned char>(text.back()))) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      default:
        break;
    }
  }
  if (shift != 0) text.remove_suffix(1);
  const auto value = Digits(text);
  if (!value) return std::nullopt;
  const unsigned __int128 bytes = static_cast<unsigned __int128>(*value)
                                  << shift;
  if (bytes > SIZE_MAX) return std::nullopt;
  return static_cast<std::size_t>(bytes);
}

std::optional<StatsFormat> ExpectedStatsFormat(std::string_view text) {
  if (text == "0") return StatsFormat::kNone;
  if (text == "1" || text == "text") return StatsFormat::kText;
  if (text == "json") return StatsFormat::kJson;
  return std::nullopt;
}

std::optional<bool> ExpectedSwitch(std::string_view text) {
  if (text == "0") return false;
  if (text == "1") return true;
  return std::nullopt;
}

std::optional<MisuseAction> ExpectedMisuseAction(std::string_view text) {
  if (text == "abort") return MisuseAction::kAbort;
  if (text == "trace") return MisuseAction::kAbortWithStackTrace;
  return std::nullopt;
}

std::optional<std::uint32_t> ExpectedCount(std::string_view text) {
  const auto value = Digits(text);
  if (!value || *value > UINT32_MAX) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

std::optional<GuardedPlacement> ExpectedPlacement(std::string_view text) {
  if (text == "end") return GuardedPlacement::kAgainstEnd;
  if (text == "start") return GuardedPlacement::kAgainstStart;
  if (text == "alternate") return GuardedPlacement::kAlternate;
  return std::nullopt;
}

std::optional<std::string_view> ExpectedProfilePath(std::string_view text) {
  if (text.empty() || text.size() + 5 >= kMaxProfilePath) return std::nullopt;
  return text;
}

std::optional<std::string_view> ExpectedTracePath(std::string_view text) {
  if (text.empty() || text.size() + 32 >= trace::kMaxTracePath) {
    return std::nullopt;
  }
  return text;
}

std::optional<trace::ForkMode> ExpectedTraceFork(std::string_view text) {
  if (text == "stop") return trace::ForkMode::kStop;
  if (text == "child") return trace::ForkMode::kChild;
  return std::nullopt;
}

}  // namespace rusty_malloc::fuzzing::drop_in_text

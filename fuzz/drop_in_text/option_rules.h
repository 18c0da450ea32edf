// Part of drop_in_text_fuzzer: the options' rules as docs/options.md's
// table states them, written again here (not the implementation's
// arithmetic reused), apart from the harness so the oracle reads on its
// own. Each returns what a valid value parses to, or nothing.

#ifndef RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_OPTION_RULES_H_
#define RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_OPTION_RULES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "allocator/common/tunables.h"
#include "allocator/drop_in/runtime_options.h"

namespace rusty_malloc::fuzzing::drop_in_text {

std::optional<std::int64_t> ExpectedPurgeDelay(std::string_view text);
std::optional<std::size_t> ExpectedBytes(std::string_view text);
std::optional<StatsFormat> ExpectedStatsFormat(std::string_view text);
std::optional<bool> ExpectedSwitch(std::string_view text);
std::optional<MisuseAction> ExpectedMisuseAction(std::string_view text);
std::optional<std::uint32_t> ExpectedCount(std::string_view text);
std::optional<GuardedPlacement> ExpectedPlacement(std::string_view text);
std::optional<std::string_view> ExpectedProfilePath(std::string_view text);
std::optional<std::string_view> ExpectedTracePath(std::string_view text);
std::optional<trace::ForkMode> ExpectedTraceFork(std::string_view text);

}  // namespace rusty_malloc::fuzzing::drop_in_text

#endif  // RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_OPTION_RULES_H_

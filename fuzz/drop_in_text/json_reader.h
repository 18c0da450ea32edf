// Part of drop_in_text_fuzzer: a JSON reader of its own, so the statistics'
// JSON is checked by parsing it rather than by the formatter's own shape.

#ifndef RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_JSON_READER_H_
#define RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_JSON_READER_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rusty_malloc::fuzzing::drop_in_text {

// A minimal JSON reader for FormatStatsJson's shape: one object of
// string keys with string or unsigned integer values, whitespace between
// tokens, a newline at the end. Returns false for anything else.
struct JsonObject {
  std::vector<std::pair<std::string, std::string>> members;  // Raw values.
};
bool ParseJson(std::string_view text, JsonObject* object);

}  // namespace rusty_malloc::fuzzing::drop_in_text

#endif  // RUSTY_MALLOC_FUZZ_DROP_IN_TEXT_JSON_READER_H_

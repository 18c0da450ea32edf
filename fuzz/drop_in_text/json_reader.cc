// Part of drop_in_text_fuzzer: the JSON reader (see json_reader.h).

#include "fuzz/drop_in_text/json_reader.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace rusty_malloc::fuzzing::drop_in_text {

bool ParseJson(std::string_view text, JsonObject* object) {
  std::size_t at = 0;
  auto space = [&] {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\n')) ++at;
  };
  auto string = [&](std::string* out) {
    if (at >= text.size() || text[at] != '"') return false;
    const std::size_t end = text.find('"', at + 1);
    if (end == std::string_view::npos) return false;
    *out = std::string(text.substr(at + 1, end - at - 1));
    if (out->find('\\') != std::string::npos) return false;
    at = end + 1;
    return true;
  };
  space();
  if (at >= text.size() || text[at++] != '{') return false;
  for (;;) {
    space();
    std::string key, value;
    if (!string(&key)) return false;
    space();
    if (at >= text.size() || text[at++] != ':') return false;
    space();
    if (at < text.size() && text[at] == '"') {
      if (!string(&value)) return false;
      value = "\"" + value + "\"";
    } else {
      const std::size_t start = at;
      while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
      if (at == start || (text[start] == '0' && at - start > 1)) return false;
      value = std::string(text.substr(start, at - start));
    }
    object->members.emplace_back(key, value);
    space();
    if (at >= text.size()) return false;
    if (text[at] == ',') {
      ++at;
      continue;
    }
    if (text[at++] != '}') return false;
    break;
  }
  space();
  return at == text.size() && text.back() == '\n';
}

}  // namespace rusty_malloc::fuzzing::drop_in_text

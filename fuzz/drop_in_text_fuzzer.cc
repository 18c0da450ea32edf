// The drop-in's text, both ways, as pure functions: the options it reads
// from the environment (allocator/drop_in/runtime_options.h: each parser,
// and ReadOptions through an injected lookup) and the statistics it writes
// (allocator/drop_in/stats_format.h: its own line and JSON, glibc's
// malloc_stats text and malloc_info XML, mallinfo2 and mallinfo) over
// arbitrary figures. The first byte picks which. Parsers are checked
// against the rules written again here (not the implementation's
// arithmetic reused), and against numbers printed and read back; formatters
// write into a buffer of exactly the size they are given (ASan reports a
// byte past it), must NUL-terminate it, return the length they needed,
// fit the 640 bytes malloc.cc formats into whatever the figures, and read
// back as the figures (the JSON through a parser of its own).

#include <malloc.h>
#include <stdio.h>

#include <cctype>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/common/tunables.h"
#include "allocator/drop_in/runtime_options.h"
#include "allocator/drop_in/stats_format.h"
#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing {
namespace {

constexpr const char* kNames[] = {
    "RUSTY_MALLOC_PURGE_DELAY_MS", "RUSTY_MALLOC_RETAIN_MAX",
    "RUSTY_MALLOC_STATS", "RUSTY_MALLOC_VERBOSE", "RUSTY_MALLOC_ON_MISUSE"};
constexpr int kOptions = 5;

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

// The rules, as docs/options.md's table states them.
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
        default:
          valid = ExpectedMisuseAction(*value).has_value();
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
          use(4, ExpectedMisuseAction, defaults.misuse_action.load())) {
    Require("ReadOptions' settings are not the environment's");
  }
}

// A figure: 0, small, a power of two, one near SIZE_MAX, or any 64 bits.
std::size_t Figure(FuzzInput& in) {
  const std::uint8_t shape = in.Byte();
  switch (shape % 6) {
    case 0:
      return 0;
    case 1:
      return in.Byte();
    case 2:
      return std::size_t{1} << (in.Byte() % 64);
    case 3:
      return SIZE_MAX - in.Byte();
    case 4:
      return static_cast<std::size_t>(INT_MAX) + in.Byte() - 128;
    default: {
      std::size_t value = 0;
      for (int i = 0; i < 8; ++i) value = value << 8 | in.Byte();
      return value;
    }
  }
}

// Calls `format` into a buffer of exactly `size` bytes and checks the
// snprintf contract; returns the whole text (from a second, large enough
// call).
std::string Formatted(int (*format)(const HeapStats&, char*, std::size_t),
                      const HeapStats& s, std::size_t size) {
  const int needed = format(s, nullptr, 0);
  // malloc.cc formats into 640 bytes and writes what fits.
  if (needed <= 0 || needed >= 640) {
    Require("statistics need " + std::to_string(needed) + " bytes");
  }
  std::unique_ptr<char[]> buffer(size == 0 ? nullptr : new char[size]);
  if (size != 0) std::memset(buffer.get(), 0x7f, size);
  if (format(s, buffer.get(), size) != needed) {
    Require("a statistics formatter's length depends on its buffer");
  }
  if (size != 0) {
    const std::size_t kept = std::min<std::size_t>(needed, size - 1);
    if (buffer[kept] != '\0' || std::strlen(buffer.get()) != kept) {
      Require("a statistics formatter did not NUL-terminate where it stops");
    }
  }
  std::string whole(static_cast<std::size_t>(needed) + 1, '\0');
  if (format(s, whole.data(), whole.size()) != needed || whole.back() != '\0' ||
      std::strlen(whole.c_str()) != static_cast<std::size_t>(needed)) {
    Require("a statistics formatter's whole text is not its length");
  }
  whole.pop_back();
  if (size > static_cast<std::size_t>(needed) &&
      whole != std::string_view(buffer.get())) {
    Require("a statistics formatter wrote different text into more room");
  }
  return whole;
}

// A minimal JSON reader for FormatStatsJson's shape: one object of
// string keys with string or unsigned integer values, whitespace between
// tokens, a newline at the end. Returns false for anything else.
struct JsonObject {
  std::vector<std::pair<std::string, std::string>> members;  // Raw values.
};
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

void Stats(FuzzInput& in) {
  HeapStats s;
  std::size_t* const fields[] = {&s.allocated_bytes,    &s.allocated_blocks,
                                 &s.free_bytes,         &s.free_blocks,
                                 &s.largest_free_block, &s.overhead_bytes,
                                 &s.heap_bytes,         &s.reserved_bytes,
                                 &s.committed_bytes,    &s.resident_bytes};
  for (std::size_t* field : fields) *field = Figure(in);
  const std::size_t size = in.Uint16() % 700;

  // rusty_malloc_print_stats, RUSTY_MALLOC_STATS=1.
  const std::string text = Formatted(FormatStatsText, s, size);
  std::size_t got[8] = {};
  if (std::sscanf(text.c_str(),
                  "rusty_malloc: heap %zu bytes, %zu blocks allocated (%zu "
                  "bytes), %zu free blocks (%zu bytes); %zu bytes reserved, "
                  "%zu committed, %zu resident\n",
                  &got[0], &got[1], &got[2], &got[3], &got[4], &got[5], &got[6],
                  &got[7]) != 8 ||
      got[0] != s.heap_bytes || got[1] != s.allocated_blocks ||
      got[2] != s.allocated_bytes || got[3] != s.free_blocks ||
      got[4] != s.free_bytes || got[5] != s.reserved_bytes ||
      got[6] != s.committed_bytes || got[7] != s.resident_bytes) {
    Require("the statistics line does not read back: " + text);
  }

  // RUSTY_MALLOC_STATS=json: parses, with every figure under its name.
  const std::string json = Formatted(FormatStatsJson, s, size);
  JsonObject object;
  if (!ParseJson(json, &object)) Require("the statistics JSON: " + json);
  const std::pair<const char*, std::size_t> want[] = {
      {"heap_bytes", s.heap_bytes},
      {"allocated_blocks", s.allocated_blocks},
      {"allocated_bytes", s.allocated_bytes},
      {"free_blocks", s.free_blocks},
      {"free_bytes", s.free_bytes},
      {"largest_free_block", s.largest_free_block},
      {"overhead_bytes", s.overhead_bytes},
      {"reserved_bytes", s.reserved_bytes},
      {"committed_bytes", s.committed_bytes},
      {"resident_bytes", s.resident_bytes}};
  if (object.members.size() != 1 + std::size(want) ||
      object.members[0] != std::pair<std::string, std::string>(
                               "allocator", "\"rusty_malloc\"")) {
    Require("the statistics JSON's members: " + json);
  }
  for (std::size_t i = 0; i < std::size(want); ++i) {
    if (object.members[i + 1].first != want[i].first ||
        object.members[i + 1].second != std::to_string(want[i].second)) {
      Require(std::string("the statistics JSON's ") + want[i].first);
    }
  }

  // malloc_stats: glibc's layout, one arena.
  const std::string glibc = Formatted(FormatGlibcMallocStats, s, size);
  std::size_t system[2] = {}, in_use[2] = {};
  int mmap_regions = -1, mmap_bytes = -1;
  if (std::sscanf(glibc.c_str(),
                  "Arena 0:\nsystem bytes     = %zu\nin use bytes     = "
                  "%zu\nTotal (incl. mmap):\nsystem bytes     = %zu\nin use "
                  "bytes     = %zu\nmax mmap regions = %d\nmax mmap bytes   = "
                  "%d\n",
                  &system[0], &in_use[0], &system[1], &in_use[1], &mmap_regions,
                  &mmap_bytes) != 6 ||
      system[0] != s.heap_bytes || system[1] != s.heap_bytes ||
      in_use[0] != s.allocated_bytes || in_use[1] != s.allocated_bytes ||
      mmap_regions != 0 || mmap_bytes != 0) {
    Require("malloc_stats' text does not read back: " + glibc);
  }

  // malloc_info: the whole document, figures in place.
  char xml[4096];
  FILE* out = fmemopen(xml, sizeof(xml), "w");
  if (out == nullptr) Require("fmemopen");
  const int length = WriteGlibcMallocInfo(s, out);
  std::fclose(out);
  char expected[2048];
  const int expected_length = std::snprintf(
      expected, sizeof(expected),
      "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n</sizes>\n"
      "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
      "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
      "<system type=\"current\" size=\"%zu\"/>\n"
      "<system type=\"max\" size=\"%zu\"/>\n"
      "<aspace type=\"total\" size=\"%zu\"/>\n"
      "<aspace type=\"mprotect\" size=\"%zu\"/>\n</heap>\n"
      "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
      "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
      "<total type=\"mmap\" count=\"0\" size=\"0\"/>\n"
      "<system type=\"current\" size=\"%zu\"/>\n"
      "<system type=\"max\" size=\"%zu\"/>\n"
      "<aspace type=\"total\" size=\"%zu\"/>\n"
      "<aspace type=\"mprotect\" size=\"%zu\"/>\n</malloc>\n",
      s.free_blocks, s.free_bytes, s.heap_bytes, s.heap_bytes, s.reserved_bytes,
      s.committed_bytes, s.free_blocks, s.free_bytes, s.heap_bytes,
      s.heap_bytes, s.reserved_bytes, s.committed_bytes);
  if (length != expected_length ||
      std::string_view(xml, static_cast<std::size_t>(length)) !=
          std::string_view(expected, static_cast<std::size_t>(length))) {
    Require("malloc_info's XML is not glibc's document with the figures");
  }

  // mallinfo2 and mallinfo.
  const struct mallinfo2 info = ToMallinfo2(s);
  if (info.arena != s.heap_bytes || info.ordblks != s.free_blocks ||
      info.uordblks != s.allocated_bytes || info.fordblks != s.free_bytes ||
      info.smblks != 0 || info.hblks != 0 || info.hblkhd != 0 ||
      info.usmblks != 0 || info.fsmblks != 0 || info.keepcost != 0) {
    Require("mallinfo2's fields are not the figures");
  }
  struct mallinfo2 any = {};
  std::size_t* const wide[] = {
      &any.arena,   &any.ordblks, &any.smblks,   &any.hblks,    &any.hblkhd,
      &any.usmblks, &any.fsmblks, &any.uordblks, &any.fordblks, &any.keepcost};
  for (std::size_t i = 0; i < std::size(wide); ++i) {
    *wide[i] = *fields[i];
  }
  const struct mallinfo narrow = ToMallinfo(any);
  const int narrow_fields[] = {narrow.arena,   narrow.ordblks,  narrow.smblks,
                               narrow.hblks,   narrow.hblkhd,   narrow.usmblks,
                               narrow.fsmblks, narrow.uordblks, narrow.fordblks,
                               narrow.keepcost};
  for (std::size_t i = 0; i < std::size(wide); ++i) {
    const std::size_t saturated =
        std::min<std::size_t>(*wide[i], static_cast<std::size_t>(INT_MAX));
    if (narrow_fields[i] != static_cast<int>(saturated)) {
      Require("mallinfo does not saturate mallinfo2's fields at INT_MAX");
    }
  }
}

}  // namespace

void FuzzOne(FuzzInput& in) {
  if (in.Byte() % 2 == 0) {
    Options(in);
  } else {
    Stats(in);
  }
}

}  // namespace rusty_malloc::fuzzing

// Part of drop_in_text_fuzzer: the statistics (see stats.h): the figures an
// input decodes to, the snprintf contract every formatter keeps, and each
// format read back.

#include "fuzz/drop_in_text/stats.h"

#include <malloc.h>
#include <stdio.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "allocator/common/heap_report.h"
#include "allocator/drop_in/stats_format.h"
#include "fuzz/drop_in_text/json_reader.h"
#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing::drop_in_text {
namespace {

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

}  // namespace

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

}  // namespace rusty_malloc::fuzzing::drop_in_text

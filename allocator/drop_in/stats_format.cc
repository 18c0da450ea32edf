#include "allocator/drop_in/stats_format.h"

#include <climits>
#include <cstdio>

namespace rusty_malloc {

int FormatStatsText(const HeapStats& s, char* out, std::size_t size) {
  return std::snprintf(
      out, size,
      "rusty_malloc: heap %zu bytes, %zu blocks allocated (%zu bytes), "
      "%zu free blocks (%zu bytes); %zu bytes reserved, %zu committed, "
      "%zu resident\n",
      s.heap_bytes, s.allocated_blocks, s.allocated_bytes, s.free_blocks,
      s.free_bytes, s.reserved_bytes, s.committed_bytes, s.resident_bytes);
}

int FormatStatsJson(const HeapStats& s, char* out, std::size_t size) {
  return std::snprintf(out, size,
                       "{\"allocator\": \"rusty_malloc\", \"heap_bytes\": %zu, "
                       "\"allocated_blocks\": %zu, \"allocated_bytes\": %zu, "
                       "\"free_blocks\": %zu, \"free_bytes\": %zu, "
                       "\"largest_free_block\": %zu, \"overhead_bytes\": %zu, "
                       "\"reserved_bytes\": %zu, \"committed_bytes\": %zu, "
                       "\"resident_bytes\": %zu}\n",
                       s.heap_bytes, s.allocated_blocks, s.allocated_bytes,
                       s.free_blocks, s.free_bytes, s.largest_free_block,
                       s.overhead_bytes, s.reserved_bytes, s.committed_bytes,
                       s.resident_bytes);
}

namespace {

double Percent(std::uint64_t part, std::uint64_t whole) {
  return whole == 0
             ? 0.0
             : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

int FormatSamplerStatsText(const SamplerStats& s, std::uint64_t cpu_ns,
                           char* out, std::size_t size) {
  return std::snprintf(
      out, size,
      "rusty_malloc sampler: %llu samples (%llu guarded) took %.3f ms, "
      "%.3f%% of the process's CPU time\n",
      static_cast<unsigned long long>(s.samples),
      static_cast<unsigned long long>(s.guarded),
      static_cast<double>(s.spent_ns) / 1e6, Percent(s.spent_ns, cpu_ns));
}

int FormatSamplerStatsJson(const SamplerStats& s, std::uint64_t cpu_ns,
                           char* out, std::size_t size) {
  return std::snprintf(
      out, size,
      "{\"sampler\": \"rusty_malloc\", \"samples\": %llu, \"guarded\": %llu, "
      "\"spent_ns\": %llu, \"process_cpu_ns\": %llu}\n",
      static_cast<unsigned long long>(s.samples),
      static_cast<unsigned long long>(s.guarded),
      static_cast<unsigned long long>(s.spent_ns),
      static_cast<unsigned long long>(cpu_ns));
}

int FormatGlibcMallocStats(const HeapStats& s, char* out, std::size_t size) {
  // glibc prints each figure in a 10-wide field, arena by arena, then the
  // totals; there is one arena here and no separately counted mappings.
  return std::snprintf(out, size,
                       "Arena 0:\n"
                       "system bytes     = %10zu\n"
                       "in use bytes     = %10zu\n"
                       "Total (incl. mmap):\n"
                       "system bytes     = %10zu\n"
                       "in use bytes     = %10zu\n"
                       "max mmap regions = %10d\n"
                       "max mmap bytes   = %10d\n",
                       s.heap_bytes, s.allocated_bytes, s.heap_bytes,
                       s.allocated_bytes, 0, 0);
}

int WriteGlibcMallocInfo(const HeapStats& s, FILE* out) {
  // glibc's elements and attributes, in its order; no size bins, as no
  // fastbins or bins of glibc's exist here. "max" is the current figure:
  // the heap keeps no high-water mark.
  return std::fprintf(out,
                      "<malloc version=\"1\">\n"
                      "<heap nr=\"0\">\n"
                      "<sizes>\n"
                      "</sizes>\n"
                      "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                      "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                      "<system type=\"current\" size=\"%zu\"/>\n"
                      "<system type=\"max\" size=\"%zu\"/>\n"
                      "<aspace type=\"total\" size=\"%zu\"/>\n"
                      "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                      "</heap>\n"
                      "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                      "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n"
                      "<total type=\"mmap\" count=\"0\" size=\"0\"/>\n"
                      "<system type=\"current\" size=\"%zu\"/>\n"
                      "<system type=\"max\" size=\"%zu\"/>\n"
                      "<aspace type=\"total\" size=\"%zu\"/>\n"
                      "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                      "</malloc>\n",
                      s.free_blocks, s.free_bytes, s.heap_bytes, s.heap_bytes,
                      s.reserved_bytes, s.committed_bytes, s.free_blocks,
                      s.free_bytes, s.heap_bytes, s.heap_bytes,
                      s.reserved_bytes, s.committed_bytes);
}

struct mallinfo2 ToMallinfo2(const HeapStats& s) {
  struct mallinfo2 info = {};
  info.arena = s.heap_bytes;
  info.ordblks = s.free_blocks;
  info.uordblks = s.allocated_bytes;
  info.fordblks = s.free_bytes;
  return info;
}

namespace {

int Saturated(std::size_t value) {
  return value > static_cast<std::size_t>(INT_MAX) ? INT_MAX
                                                   : static_cast<int>(value);
}

}  // namespace

struct mallinfo ToMallinfo(const struct mallinfo2& info) {
  struct mallinfo narrow = {};
  narrow.arena = Saturated(info.arena);
  narrow.ordblks = Saturated(info.ordblks);
  narrow.smblks = Saturated(info.smblks);
  narrow.hblks = Saturated(info.hblks);
  narrow.hblkhd = Saturated(info.hblkhd);
  narrow.usmblks = Saturated(info.usmblks);
  narrow.fsmblks = Saturated(info.fsmblks);
  narrow.uordblks = Saturated(info.uordblks);
  narrow.fordblks = Saturated(info.fordblks);
  narrow.keepcost = Saturated(info.keepcost);
  return narrow;
}

}  // namespace rusty_malloc

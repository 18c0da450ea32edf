// Part of malloc_fuzzer: the statistics functions (mallinfo2, mallinfo,
// malloc_stats, malloc_info, rusty_malloc_print_stats), apart because
// they check figures and formatted text rather than blocks.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing::c_interface {

// The statistics functions, each as malloc.cc builds it from one
// Stats(): the figures against the model (blocks exactly; bytes at least
// the live blocks' usable sizes, as block bytes include headers) and
// against each other (heap_report.h), then every shape malloc.cc prints,
// in the buffer it prints them from, read back.
void Model::Statistics(FuzzInput& in) {
  work_ += 8;
  const HeapStats s = heap_.Stats();
  if (s.allocated_blocks != live_.size()) {
    Fail("Stats' block count is not the model's", s.allocated_blocks,
         live_.size());
  }
  if (s.allocated_bytes < usable_bytes_) {
    Fail("Stats' allocated bytes are below the live blocks' usable sizes",
         s.allocated_bytes, usable_bytes_);
  }
  if (s.allocated_bytes + s.free_bytes + s.overhead_bytes != s.heap_bytes ||
      s.largest_free_block > s.free_bytes ||
      (s.free_blocks == 0) != (s.free_bytes == 0) ||
      s.committed_bytes > s.reserved_bytes ||
      ChunkBytes(s) > s.committed_bytes) {
    Fail("Stats' figures do not add up", s.heap_bytes, s.committed_bytes);
  }
  const struct mallinfo2 info = ToMallinfo2(s);
  if (info.arena != s.heap_bytes || info.uordblks != s.allocated_bytes ||
      info.fordblks != s.free_bytes || info.ordblks != s.free_blocks ||
      info.smblks != 0 || info.hblks != 0 || info.hblkhd != 0 ||
      info.usmblks != 0 || info.fsmblks != 0 || info.keepcost != 0) {
    Fail("mallinfo2 does not show Stats()", info.arena, s.heap_bytes);
  }
  const struct mallinfo narrow = ToMallinfo(info);
  auto saturated = [](std::size_t x) {
    return static_cast<int>(std::min<std::size_t>(x, INT_MAX));
  };
  if (narrow.arena != saturated(info.arena) ||
      narrow.uordblks != saturated(info.uordblks) ||
      narrow.fordblks != saturated(info.fordblks) ||
      narrow.ordblks != saturated(info.ordblks)) {
    Fail("mallinfo is not mallinfo2 saturated", info.arena);
  }
  // malloc.cc's WriteStats formats into 640 bytes on its stack.
  char text[640];
  std::size_t figures[8] = {};
  switch (in.Byte() % 4) {
    case 0: {  // rusty_malloc_print_stats, RUSTY_MALLOC_STATS=1.
      CheckFormatted(FormatStatsText(s, text, sizeof(text)), text,
                     sizeof(text));
      const int n = std::sscanf(
          text,
          "rusty_malloc: heap %zu bytes, %zu blocks allocated (%zu bytes), "
          "%zu free blocks (%zu bytes); %zu bytes reserved, %zu committed, "
          "%zu resident\n",
          &figures[0], &figures[1], &figures[2], &figures[3], &figures[4],
          &figures[5], &figures[6], &figures[7]);
      const std::size_t want[8] = {s.heap_bytes,      s.allocated_blocks,
                                   s.allocated_bytes, s.free_blocks,
                                   s.free_bytes,      s.reserved_bytes,
                                   s.committed_bytes, s.resident_bytes};
      if (n != 8 || !std::equal(figures, figures + 8, want)) {
        Fail("rusty_malloc_print_stats' text does not read back", n);
      }
      break;
    }
    case 1: {  // RUSTY_MALLOC_STATS=json.
      CheckFormatted(FormatStatsJson(s, text, sizeof(text)), text,
                     sizeof(text));
      const int n = std::sscanf(
          text,
          "{\"allocator\": \"rusty_malloc\", \"heap_bytes\": %zu, "
          "\"allocated_blocks\": %zu, \"allocated_bytes\": %zu, "
          "\"free_blocks\": %zu, \"free_bytes\": %zu",
          &figures[0], &figures[1], &figures[2], &figures[3], &figures[4]);
      const std::size_t want[5] = {s.heap_bytes, s.allocated_blocks,
                                   s.allocated_bytes, s.free_blocks,
                                   s.free_bytes};
      if (n != 5 || !std::equal(figures, figures + 5, want)) {
        Fail("the JSON statistics do not read back", n);
      }
      break;
    }
    case 2: {  // malloc_stats.
      CheckFormatted(FormatGlibcMallocStats(s, text, sizeof(text)), text,
                     sizeof(text));
      const int n = std::sscanf(text,
                                "Arena 0:\nsystem bytes     = %zu\n"
                                "in use bytes     = %zu\n",
                                &figures[0], &figures[1]);
      if (n != 2 || figures[0] != s.heap_bytes ||
          figures[1] != s.allocated_bytes) {
        Fail("malloc_stats' text does not read back", n);
      }
      break;
    }
    default: {  // malloc_info(0, stream).
      char xml[2048] = {};
      FILE* out = fmemopen(xml, sizeof(xml), "w");
      if (out == nullptr) break;
      const int length = WriteGlibcMallocInfo(s, out);
      std::fclose(out);
      char expected[96];
      std::snprintf(expected, sizeof(expected),
                    "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>",
                    s.free_blocks, s.free_bytes);
      if (length <= 0 || std::strlen(xml) != static_cast<std::size_t>(length) ||
          std::strncmp(xml, "<malloc version=\"1\">\n", 21) != 0 ||
          std::strstr(xml, expected) == nullptr ||
          std::strcmp(xml + length - 10, "</malloc>\n") != 0) {
        Fail("malloc_info's XML", static_cast<std::size_t>(length));
      }
      break;
    }
  }
}

// A statistics line as malloc.cc writes it: it fits the buffer whole
// (the writer drops what does not), NUL-terminated where the length says.
void Model::CheckFormatted(int length, const char* text, std::size_t size) {
  if (length <= 0 || static_cast<std::size_t>(length) >= size ||
      std::strlen(text) != static_cast<std::size_t>(length) ||
      text[length - 1] != '\n') {
    Fail("a statistics line does not fit malloc.cc's buffer",
         static_cast<std::size_t>(length), size);
  }
}

}  // namespace rusty_malloc::fuzzing::c_interface

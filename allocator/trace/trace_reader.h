#ifndef RUSTY_MALLOC_ALLOCATOR_TRACE_TRACE_READER_H_
#define RUSTY_MALLOC_ALLOCATOR_TRACE_TRACE_READER_H_

// Reading a trace (trace_format.h) into memory for the tools that use one:
// the replayer, the fuzz-input converter and the tests. Not for the
// drop-in: it allocates.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "allocator/trace/trace_format.h"

namespace rusty_malloc::trace {

// One record, fields named; those its op lacks are 0.
struct Record {
  Op op = Op::kEnd;
  std::uint64_t time_ns = 0;  // Since the trace started.
  std::uint64_t id = 0;       // The block it allocates, or uses or frees.
  std::uint64_t old_id = 0;   // kRealloc's block in.
  std::uint64_t size = 0;
  std::uint64_t count = 0;   // kCalloc's.
  std::uint64_t align = 0;   // kAlignedAlloc's and kNew's.
  std::uint64_t offset = 0;  // Of the record in the file.
};

// Whether `record` makes a block (a non-zero id), and frees or uses one.
[[nodiscard]] bool Allocates(const Record& record);
// The block a record frees, or 0: kRealloc frees old_id unless it failed.
[[nodiscard]] std::uint64_t FreedId(const Record& record);
// The block a record reads without freeing (kUsableSize), or 0.
[[nodiscard]] std::uint64_t UsedId(const Record& record);

struct ThreadRecords {
  std::uint64_t thread = 0;     // As numbered in the file.
  std::vector<Record> records;  // In program order, kThreadStart first.
};

struct Trace {
  Header header;
  std::vector<ThreadRecords> threads;  // In the order they started.
  // Whether the recording process exited and wrote kEnd. A trace that ends
  // without it (the process was killed, or another thread's buffer was lost)
  // keeps its complete frames; its records that use a block never allocated
  // in the file are dropped and counted instead of refused.
  bool complete = false;
  std::size_t dropped_records = 0;
  std::size_t ignored_tail_bytes = 0;  // A last frame cut short.
  std::uint64_t max_id = 0;
};

// Parses and checks a whole trace. False, with `error` naming the file
// offset of the record or frame at fault, for: a bad header; a malformed
// frame or record; a thread whose first record is not kThreadStart (used
// before it starts); anything after kEnd; an id allocated twice, freed
// twice, or used or freed by a complete trace without being allocated; a
// block used by the thread that allocates it before it does.
[[nodiscard]] bool ParseTrace(const unsigned char* data, std::size_t size,
                              Trace* trace, std::string* error);

// ParseTrace on a file's contents; false, with `error` saying why, when
// the file cannot be read either.
[[nodiscard]] bool ReadTraceFile(const char* path, Trace* trace,
                                 std::string* error);

}  // namespace rusty_malloc::trace

#endif  // RUSTY_MALLOC_ALLOCATOR_TRACE_TRACE_READER_H_

// Prints a trace (allocator/trace/trace_format.h) as text, a record a line:
//   THREAD OP FIELD=VALUE ...
// in each thread's order, threads in the order they started; then a summary
// line. Exits 2, naming the offset, for a trace the reader refuses.
// Usage: trace_dump [--summary] TRACE

#include <cstdio>
#include <cstring>
#include <string>

#include "allocator/trace/trace_reader.h"

namespace {

using rusty_malloc::trace::Op;
using rusty_malloc::trace::Record;

const char* Name(Op op) {
  switch (op) {
    case Op::kThreadStart:
      return "thread_start";
    case Op::kMalloc:
      return "malloc";
    case Op::kCalloc:
      return "calloc";
    case Op::kRealloc:
      return "realloc";
    case Op::kAlignedAlloc:
      return "aligned_alloc";
    case Op::kFree:
      return "free";
    case Op::kFreeSized:
      return "free_sized";
    case Op::kUsableSize:
      return "usable_size";
    case Op::kNew:
      return "new";
    case Op::kDelete:
      return "delete";
    case Op::kDeleteSized:
      return "delete_sized";
    case Op::kEnd:
      return "end";
  }
  return "?";
}

void Print(std::uint64_t thread, const Record& r) {
  std::printf("%llu %s", static_cast<unsigned long long>(thread), Name(r.op));
  auto field = [](const char* name, std::uint64_t value) {
    std::printf(" %s=%llu", name, static_cast<unsigned long long>(value));
  };
  switch (r.op) {
    case Op::kCalloc:
      field("count", r.count);
      [[fallthrough]];
    case Op::kMalloc:
      field("size", r.size);
      field("id", r.id);
      break;
    case Op::kRealloc:
      field("old", r.old_id);
      field("size", r.size);
      field("id", r.id);
      break;
    case Op::kAlignedAlloc:
    case Op::kNew:
      field("align", r.align);
      field("size", r.size);
      field("id", r.id);
      break;
    case Op::kFreeSized:
    case Op::kDeleteSized:
      field("id", r.id);
      field("size", r.size);
      break;
    case Op::kFree:
    case Op::kDelete:
    case Op::kUsableSize:
      field("id", r.id);
      break;
    case Op::kThreadStart:
    case Op::kEnd:
      break;
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool summary_only = false;
  const char* path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--summary") == 0) {
      summary_only = true;
    } else {
      path = argv[i];
    }
  }
  if (path == nullptr) {
    std::fprintf(stderr, "usage: trace_dump [--summary] TRACE\n");
    return 2;
  }
  rusty_malloc::trace::Trace trace;
  std::string error;
  if (!rusty_malloc::trace::ReadTraceFile(path, &trace, &error)) {
    std::fprintf(stderr, "trace_dump: %s\n", error.c_str());
    return 2;
  }
  std::size_t records = 0;
  for (const auto& thread : trace.threads) {
    records += thread.records.size();
    if (summary_only) continue;
    for (const Record& r : thread.records) Print(thread.thread, r);
  }
  std::printf(
      "threads=%zu records=%zu complete=%d dropped=%zu ignored_tail_bytes=%zu "
      "max_id=%llu\n",
      trace.threads.size(), records, trace.complete ? 1 : 0,
      trace.dropped_records, trace.ignored_tail_bytes,
      static_cast<unsigned long long>(trace.max_id));
  return 0;
}

#include "allocator/trace/trace_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

namespace rusty_malloc::trace {

bool Allocates(const Record& record) {
  switch (record.op) {
    case Op::kMalloc:
    case Op::kCalloc:
    case Op::kRealloc:
    case Op::kAlignedAlloc:
    case Op::kNew:
      return record.id != 0;
    default:
      return false;
  }
}

std::uint64_t FreedId(const Record& record) {
  switch (record.op) {
    case Op::kFree:
    case Op::kFreeSized:
    case Op::kDelete:
    case Op::kDeleteSized:
      return record.id;
    case Op::kRealloc:
      // A failed realloc (nullptr for a size above 0) keeps the block.
      return record.id != 0 || record.size == 0 ? record.old_id : 0;
    default:
      return 0;
  }
}

std::uint64_t UsedId(const Record& record) {
  return record.op == Op::kUsableSize ? record.id : 0;
}

namespace {

std::string At(std::uint64_t offset, const std::string& what) {
  return "offset " + std::to_string(offset) + ": " + what;
}

// Names the fields of a record whose varints are in `f`.
Record Decoded(Op op, const std::uint64_t* f) {
  Record r;
  r.op = op;
  switch (op) {
    case Op::kMalloc:
      r.size = f[0];
      r.id = f[1];
      break;
    case Op::kCalloc:
      r.count = f[0];
      r.size = f[1];
      r.id = f[2];
      break;
    case Op::kRealloc:
      r.old_id = f[0];
      r.size = f[1];
      r.id = f[2];
      break;
    case Op::kAlignedAlloc:
    case Op::kNew:
      r.align = f[0];
      r.size = f[1];
      r.id = f[2];
      break;
    case Op::kFree:
    case Op::kUsableSize:
    case Op::kDelete:
      r.id = f[0];
      break;
    case Op::kFreeSized:
    case Op::kDeleteSized:
      r.id = f[0];
      r.size = f[1];
      break;
    case Op::kThreadStart:
    case Op::kEnd:
      break;
  }
  return r;
}

// Frames and records, with the per-thread rules; ids are checked after.
bool ParseFrames(const unsigned char* data, std::size_t size, Trace* trace,
                 std::string* error) {
  std::unordered_map<std::uint64_t, std::size_t> index;
  std::size_t offset = kHeaderBytes;
  while (offset < size) {
    const std::size_t frame_start = offset;
    const unsigned char* at = data + offset;
    const unsigned char* end = data + size;
    std::uint64_t thread, bytes;
    if (!GetVarint(&at, end, &thread) || !GetVarint(&at, end, &bytes) ||
        bytes > static_cast<std::uint64_t>(end - at)) {
      if (trace->complete) {
        *error = At(frame_start, "bytes after the end record");
        return false;
      }
      trace->ignored_tail_bytes = size - frame_start;
      return true;
    }
    if (trace->complete) {
      *error = At(frame_start, "a frame after the end record");
      return false;
    }
    const unsigned char* frame_end = at + bytes;
    while (at < frame_end) {
      const auto record_offset = static_cast<std::uint64_t>(at - data);
      const std::uint8_t op_byte = *at++;
      if (op_byte == 0 || op_byte > kLastOp) {
        *error = At(record_offset, "unknown op " + std::to_string(op_byte));
        return false;
      }
      const auto op = static_cast<Op>(op_byte);
      std::uint64_t delta;
      std::uint64_t fields[4] = {};
      bool ok = GetVarint(&at, frame_end, &delta);
      for (int i = 0; ok && i < FieldCount(op); ++i) {
        ok = GetVarint(&at, frame_end, &fields[i]);
      }
      if (!ok) {
        *error = At(record_offset, "a record cut short by its frame's end");
        return false;
      }
      Record record = Decoded(op, fields);
      record.offset = record_offset;
      auto found = index.find(thread);
      if (found == index.end()) {
        if (op != Op::kThreadStart) {
          *error = At(record_offset, "thread " + std::to_string(thread) +
                                         " used before it starts");
          return false;
        }
        found = index.emplace(thread, trace->threads.size()).first;
        trace->threads.push_back({thread, {}});
        record.time_ns = delta;
      } else {
        if (op == Op::kThreadStart) {
          *error = At(record_offset,
                      "thread " + std::to_string(thread) + " starts twice");
          return false;
        }
        record.time_ns =
            trace->threads[found->second].records.back().time_ns + delta;
      }
      if (op == Op::kEnd) {
        if (at != frame_end) {
          *error = At(record_offset, "records after the end record");
          return false;
        }
        trace->complete = true;
      }
      // old_id too: CheckIds indexes by it.
      trace->max_id = std::max({trace->max_id, record.id, record.old_id});
      trace->threads[found->second].records.push_back(record);
    }
    offset = static_cast<std::size_t>(frame_end - data);
  }
  return true;
}

// Every id allocated once, freed at most once, and only ever used or freed
// where it is allocated somewhere (in the thread that allocates it, after).
bool CheckIds(Trace* trace, std::string* error) {
  if (trace->max_id > (std::uint64_t{1} << 32)) {
    *error = "ids up to " + std::to_string(trace->max_id) +
             ": more than this reader takes";
    return false;
  }
  // Where each id is allocated: thread index + 1 in the high bits, record
  // index in the low 40; 0 for none.
  std::vector<std::uint64_t> born(trace->max_id + 1, 0);
  std::vector<bool> freed(trace->max_id + 1, false);
  for (std::size_t t = 0; t < trace->threads.size(); ++t) {
    const auto& records = trace->threads[t].records;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (!Allocates(records[i])) continue;
      std::uint64_t& at = born[records[i].id];
      if (at != 0) {
        *error = At(records[i].offset,
                    "id " + std::to_string(records[i].id) + " allocated twice");
        return false;
      }
      at = ((t + 1) << 40) | i;
    }
  }
  for (std::size_t t = 0; t < trace->threads.size(); ++t) {
    std::vector<Record>& records = trace->threads[t].records;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
      Record record = records[i];
      for (const std::uint64_t id : {FreedId(record), UsedId(record)}) {
        if (id == 0) continue;
        const std::uint64_t at = born[id];
        if (at == 0 && trace->complete) {
          *error = At(record.offset,
                      "id " + std::to_string(id) + " is never allocated");
          return false;
        }
        // At i itself: a realloc whose old block is the one it makes.
        if (at >> 40 == t + 1 && (at & ((std::uint64_t{1} << 40) - 1)) >= i) {
          *error =
              At(record.offset, "id " + std::to_string(id) +
                                    " used before its thread allocates it");
          return false;
        }
      }
      const std::uint64_t freed_id = FreedId(record);
      const std::uint64_t used_id = UsedId(record);
      const bool unknown = (freed_id != 0 && born[freed_id] == 0) ||
                           (used_id != 0 && born[used_id] == 0);
      if (unknown) {
        ++trace->dropped_records;
        if (record.op != Op::kRealloc) continue;
        // Its block was allocated in a frame that was lost: a malloc now.
        record.old_id = 0;
      } else if (freed_id != 0) {
        if (freed[freed_id]) {
          *error = At(record.offset,
                      "id " + std::to_string(freed_id) + " freed twice");
          return false;
        }
        freed[freed_id] = true;
      }
      records[kept++] = record;
    }
    records.resize(kept);
  }
  return true;
}

}  // namespace

bool ParseTrace(const unsigned char* data, std::size_t size, Trace* trace,
                std::string* error) {
  *trace = Trace();
  if (!DecodeHeader(data, size, &trace->header)) {
    *error = At(0, "not a trace of format version " + std::to_string(kVersion));
    return false;
  }
  return ParseFrames(data, size, trace, error) && CheckIds(trace, error);
}

bool ReadTraceFile(const char* path, Trace* trace, std::string* error) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::string(path) + ": " + std::strerror(errno);
    return false;
  }
  std::vector<unsigned char> bytes;
  unsigned char chunk[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string(path) + ": " + std::strerror(errno);
      close(fd);
      return false;
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  close(fd);
  if (!ParseTrace(bytes.data(), bytes.size(), trace, error)) {
    *error = std::string(path) + ": " + *error;
    return false;
  }
  return true;
}

}  // namespace rusty_malloc::trace

#ifndef RUSTY_MALLOC_ALLOCATOR_TRACE_TRACE_FORMAT_H_
#define RUSTY_MALLOC_ALLOCATOR_TRACE_TRACE_FORMAT_H_

// The allocation trace format (docs/trace_format.md), shared by the
// drop-in's recorder, the replayer and the fuzz-input converter.
//
// A trace is a 32-byte header, then frames. A frame is one thread's records,
// written with one write(): varint thread, varint payload bytes, payload.
// Frames of different threads interleave in the order they were flushed;
// within a thread they are in program order. A record is an Op byte, a
// varint of nanoseconds since the thread's previous record (since the trace
// started, for kThreadStart), then the op's fields, each a varint:
//   kThreadStart                  (the first record of every thread)
//   kMalloc         size id
//   kCalloc         count size id
//   kRealloc        old_id size id
//   kAlignedAlloc   align size id  (memalign, aligned_alloc, posix_memalign,
//                                   valloc, pvalloc)
//   kFree           id
//   kFreeSized      id size        (free_sized, free_aligned_sized)
//   kUsableSize     id
//   kNew            align size id  (align 0: operator new's default)
//   kDelete         id
//   kDeleteSized    id size
//   kEnd                           (the process exited; nothing follows)
// Pointers are renamed to ids: a block's id is given when it is allocated
// and never reused, counting from 1; 0 is nullptr (a failed allocation, or
// realloc of nullptr) and a pointer the recorder did not know.
// Every encoder and decoder here is a pure function over byte ranges.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rusty_malloc::trace {

inline constexpr char kMagic[8] = {'R', 'M', 'T', 'R', 'A', 'C', 'E', '\0'};
inline constexpr std::uint32_t kVersion = 1;
inline constexpr std::size_t kHeaderBytes = 32;
// The largest record: an op byte and four varints of at most 10 bytes.
inline constexpr std::size_t kMaxRecordBytes = 1 + 4 * 10;
// The largest frame header: two varints.
inline constexpr std::size_t kMaxFrameHeaderBytes = 2 * 10;

enum class Op : std::uint8_t {
  kThreadStart = 1,
  kMalloc,
  kCalloc,
  kRealloc,
  kAlignedAlloc,
  kFree,
  kFreeSized,
  kUsableSize,
  kNew,
  kDelete,
  kDeleteSized,
  kEnd,
};
inline constexpr std::uint8_t kLastOp = static_cast<std::uint8_t>(Op::kEnd);

// How many varint fields follow an op's time.
[[nodiscard]] constexpr int FieldCount(Op op) {
  switch (op) {
    case Op::kThreadStart:
    case Op::kEnd:
      return 0;
    case Op::kFree:
    case Op::kUsableSize:
    case Op::kDelete:
      return 1;
    case Op::kMalloc:
    case Op::kFreeSized:
    case Op::kDeleteSized:
      return 2;
    case Op::kCalloc:
    case Op::kRealloc:
    case Op::kAlignedAlloc:
    case Op::kNew:
      return 3;
  }
  return -1;
}

// The fixed header, little-endian: magic, version, header bytes, the
// recording process's id, and the wall-clock time it started (ns since the
// epoch).
struct Header {
  std::uint32_t version = kVersion;
  std::uint64_t pid = 0;
  std::uint64_t start_unix_ns = 0;
};

inline void PutLe(std::uint64_t value, int bytes, unsigned char* out) {
  for (int i = 0; i < bytes; ++i)
    out[i] = static_cast<unsigned char>(value >> (8 * i));
}
[[nodiscard]] inline std::uint64_t GetLe(const unsigned char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{in[i]} << (8 * i);
  return value;
}

inline void EncodeHeader(const Header& header,
                         unsigned char out[kHeaderBytes]) {
  std::memcpy(out, kMagic, sizeof(kMagic));
  PutLe(header.version, 4, out + 8);
  PutLe(kHeaderBytes, 4, out + 12);
  PutLe(header.pid, 8, out + 16);
  PutLe(header.start_unix_ns, 8, out + 24);
}

// False when `in` is not a trace header of this version.
[[nodiscard]] inline bool DecodeHeader(const unsigned char* in, std::size_t n,
                                       Header* header) {
  if (n < kHeaderBytes || std::memcmp(in, kMagic, sizeof(kMagic)) != 0) {
    return false;
  }
  header->version = static_cast<std::uint32_t>(GetLe(in + 8, 4));
  header->pid = GetLe(in + 16, 8);
  header->start_unix_ns = GetLe(in + 24, 8);
  return header->version == kVersion && GetLe(in + 12, 4) == kHeaderBytes;
}

// Writes `value` as a varint (7 bits a byte, low first); returns the bytes
// written, at most 10.
inline std::size_t PutVarint(std::uint64_t value, unsigned char* out) {
  std::size_t n = 0;
  while (value >= 0x80) {
    out[n++] = static_cast<unsigned char>(value | 0x80);
    value >>= 7;
  }
  out[n++] = static_cast<unsigned char>(value);
  return n;
}

// Reads a varint at *at, before `end`, and moves *at past it; false (and
// *at unmoved) when the bytes end first or it runs over 64 bits.
[[nodiscard]] inline bool GetVarint(const unsigned char** at,
                                    const unsigned char* end,
                                    std::uint64_t* value) {
  std::uint64_t result = 0;
  const unsigned char* p = *at;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    const unsigned char byte = *p++;
    if (shift == 63 && byte > 1) return false;
    result |= std::uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) {
      *at = p;
      *value = result;
      return true;
    }
  }
  return false;
}

// Encodes one record: `fields` must hold FieldCount(op) values. Returns the
// bytes written, at most kMaxRecordBytes.
inline std::size_t EncodeRecord(Op op, std::uint64_t delta_ns,
                                const std::uint64_t* fields,
                                unsigned char* out) {
  std::size_t n = 0;
  out[n++] = static_cast<unsigned char>(op);
  n += PutVarint(delta_ns, out + n);
  for (int i = 0; i < FieldCount(op); ++i) n += PutVarint(fields[i], out + n);
  return n;
}

// Encodes a frame's header for `payload_bytes` of `thread`'s records.
inline std::size_t EncodeFrameHeader(std::uint64_t thread,
                                     std::uint64_t payload_bytes,
                                     unsigned char* out) {
  const std::size_t n = PutVarint(thread, out);
  return n + PutVarint(payload_bytes, out + n);
}

}  // namespace rusty_malloc::trace

#endif  // RUSTY_MALLOC_ALLOCATOR_TRACE_TRACE_FORMAT_H_

#ifndef RUSTY_MALLOC_TESTS_TRACE_BUILDER_H_
#define RUSTY_MALLOC_TESTS_TRACE_BUILDER_H_

// Builds allocation traces in memory with trace_format.h's encoders, for
// the tests of the reader and the replayer: a header, then frames of
// records, each appended as the recorder would write it.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "allocator/trace/trace_format.h"

namespace rusty_malloc::trace::testing {

// One record to encode: its op, the nanoseconds since its thread's previous
// record, and its fields in trace_format.h's order.
struct Rec {
  Op op;
  std::uint64_t delta_ns = 0;
  std::vector<std::uint64_t> fields = {};
};

// The records of trace_format.h's table, fields in its order.
inline Rec Start(std::uint64_t delta_ns = 0) {
  return {Op::kThreadStart, delta_ns};
}
inline Rec End() { return {Op::kEnd}; }
inline Rec Malloc(std::uint64_t size, std::uint64_t id) {
  return {Op::kMalloc, 1, {size, id}};
}
inline Rec Calloc(std::uint64_t count, std::uint64_t size, std::uint64_t id) {
  return {Op::kCalloc, 1, {count, size, id}};
}
inline Rec Realloc(std::uint64_t old_id, std::uint64_t size, std::uint64_t id) {
  return {Op::kRealloc, 1, {old_id, size, id}};
}
inline Rec AlignedAlloc(std::uint64_t align, std::uint64_t size,
                        std::uint64_t id) {
  return {Op::kAlignedAlloc, 1, {align, size, id}};
}
inline Rec Free(std::uint64_t id) { return {Op::kFree, 1, {id}}; }
inline Rec FreeSized(std::uint64_t id, std::uint64_t size) {
  return {Op::kFreeSized, 1, {id, size}};
}
inline Rec UsableSize(std::uint64_t id) { return {Op::kUsableSize, 1, {id}}; }
inline Rec New(std::uint64_t align, std::uint64_t size, std::uint64_t id) {
  return {Op::kNew, 1, {align, size, id}};
}
inline Rec Delete(std::uint64_t id) { return {Op::kDelete, 1, {id}}; }
inline Rec DeleteSized(std::uint64_t id, std::uint64_t size) {
  return {Op::kDeleteSized, 1, {id, size}};
}

class TraceBuilder {
 public:
  explicit TraceBuilder(const Header& header = {}) {
    unsigned char out[kHeaderBytes];
    EncodeHeader(header, out);
    Append(out, sizeof(out));
  }

  // Appends one frame of `thread`'s records; returns each one's offset.
  std::vector<std::size_t> Frame(std::uint64_t thread,
                                 const std::vector<Rec>& records) {
    std::vector<unsigned char> payload;
    std::vector<std::size_t> at;
    for (const Rec& rec : records) {
      std::vector<std::uint64_t> fields = rec.fields;
      fields.resize(4);  // EncodeRecord reads as many as the op has.
      unsigned char out[kMaxRecordBytes];
      at.push_back(payload.size());
      payload.insert(
          payload.end(), out,
          out + EncodeRecord(rec.op, rec.delta_ns, fields.data(), out));
    }
    unsigned char header[kMaxFrameHeaderBytes];
    Append(header, EncodeFrameHeader(thread, payload.size(), header));
    for (std::size_t& offset : at) offset += bytes_.size();
    Append(payload.data(), payload.size());
    return at;
  }

  // Appends bytes as they are, to make malformed traces.
  void Raw(std::initializer_list<unsigned char> bytes) {
    bytes_.insert(bytes_.end(), bytes);
  }

  std::size_t size() const { return bytes_.size(); }
  const std::vector<unsigned char>& bytes() const { return bytes_; }
  std::vector<unsigned char>& mutable_bytes() { return bytes_; }

 private:
  void Append(const unsigned char* p, std::size_t n) {
    bytes_.insert(bytes_.end(), p, p + n);
  }

  std::vector<unsigned char> bytes_;
};

}  // namespace rusty_malloc::trace::testing

#endif  // RUSTY_MALLOC_TESTS_TRACE_BUILDER_H_

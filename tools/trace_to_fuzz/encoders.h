#ifndef RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_ENCODERS_H_
#define RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_ENCODERS_H_

// What the encoders (encoder.h) share: a recorded call as a request, and
// the live blocks as a harness lists them. Internal to trace_to_fuzz.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "allocator/trace/trace_reader.h"
#include "tools/trace_to_fuzz/encoder.h"

namespace rusty_malloc::trace_to_fuzz {

std::unique_ptr<Encoder> MakePerThreadEncoder();
std::unique_ptr<Encoder> MakeLifecycleEncoder();
std::unique_ptr<Encoder> MakeCInterfaceEncoder();

// A recorded call as the harnesses see it.
struct Request {
  enum Action { kNone, kAllocate, kFree, kReallocate, kUsableSize };
  Action action = kNone;
  trace::Op op = trace::Op::kEnd;
  std::uint64_t id = 0;      // Made, freed, used, or realloc's result.
  std::uint64_t old_id = 0;  // kReallocate's block in.
  std::size_t size = 0;      // calloc's: count * size.
  std::size_t count = 0;     // calloc's count,
  std::size_t element = 0;   // and its size.
  std::size_t align = 0;     // 0: the function's default.
};

// kNone for a call that makes, frees or uses no block: a failed
// allocation, free(nullptr). realloc(nullptr, n) allocates, and realloc
// to 0 that returned nullptr frees.
Request Classify(const trace::Record& record);

// The live blocks in a harness's list, by recorded id: appended when made,
// the last moved into a freed one's place, as HeapModel, the concurrent
// harness's threads, the lifecycle model and the C interface model all do.
class LiveList {
 public:
  // The block's index, or -1.
  long Find(std::uint64_t id) const {
    const auto it = std::find(ids_.begin(), ids_.end(), id);
    return it == ids_.end() ? -1 : static_cast<long>(it - ids_.begin());
  }
  void Add(std::uint64_t id) { ids_.push_back(id); }
  void Remove(std::size_t index) {
    ids_[index] = ids_.back();
    ids_.pop_back();
  }
  std::uint64_t& operator[](std::size_t index) { return ids_[index]; }
  std::size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }
  std::uint64_t back() const { return ids_.back(); }
  void pop_back() { ids_.pop_back(); }

 private:
  std::vector<std::uint64_t> ids_;
};

}  // namespace rusty_malloc::trace_to_fuzz

#endif  // RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_ENCODERS_H_

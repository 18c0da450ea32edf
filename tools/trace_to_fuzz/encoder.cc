#include "tools/trace_to_fuzz/encoder.h"

#include <string>

#include "tools/trace_to_fuzz/encoders.h"

namespace rusty_malloc::trace_to_fuzz {

using trace::Op;

Request Classify(const trace::Record& r) {
  Request q;
  q.op = r.op;
  switch (r.op) {
    case Op::kMalloc:
    case Op::kAlignedAlloc:
    case Op::kNew:
      if (r.id == 0) return q;
      q.action = Request::kAllocate;
      q.id = r.id;
      q.size = r.size;
      q.align = r.align;
      return q;
    case Op::kCalloc:
      if (r.id == 0 || __builtin_mul_overflow(r.count, r.size, &q.size)) {
        return q;
      }
      q.action = Request::kAllocate;
      q.id = r.id;
      q.count = r.count;
      q.element = r.size;
      return q;
    case Op::kRealloc:
      q.id = r.id;
      q.old_id = r.old_id;
      q.size = r.size;
      if (r.old_id == 0) {
        q.action = r.id == 0 ? Request::kNone : Request::kAllocate;
      } else if (r.id != 0) {
        q.action = Request::kReallocate;
      } else if (r.size == 0) {
        q.action = Request::kFree;
        q.id = r.old_id;
      }
      return q;
    case Op::kFree:
    case Op::kFreeSized:
    case Op::kDelete:
    case Op::kDeleteSized:
      if (r.id == 0) return q;
      q.action = Request::kFree;
      q.id = r.id;
      q.size = r.size;
      return q;
    case Op::kUsableSize:
      if (r.id == 0) return q;
      q.action = Request::kUsableSize;
      q.id = r.id;
      return q;
    case Op::kThreadStart:
    case Op::kEnd:
      return q;
  }
  return q;
}

std::string Describe(const Call& call) {
  const trace::Record& r = call.record;
  const std::string t = "t" + std::to_string(call.thread) + " ";
  auto n = [](std::uint64_t v) { return std::to_string(v); };
  switch (r.op) {
    case Op::kMalloc:
      return t + "malloc(" + n(r.size) + ") #" + n(r.id);
    case Op::kCalloc:
      return t + "calloc(" + n(r.count) + ", " + n(r.size) + ") #" + n(r.id);
    case Op::kRealloc:
      return t + "realloc(#" + n(r.old_id) + ", " + n(r.size) + ") #" + n(r.id);
    case Op::kAlignedAlloc:
      return t + "aligned(" + n(r.align) + ", " + n(r.size) + ") #" + n(r.id);
    case Op::kNew:
      return t + "new(" + n(r.size) + ", align " + n(r.align) + ") #" + n(r.id);
    case Op::kFree:
      return t + "free(#" + n(r.id) + ")";
    case Op::kFreeSized:
      return t + "free_sized(#" + n(r.id) + ", " + n(r.size) + ")";
    case Op::kUsableSize:
      return t + "usable_size(#" + n(r.id) + ")";
    case Op::kDelete:
      return t + "delete(#" + n(r.id) + ")";
    case Op::kDeleteSized:
      return t + "delete(#" + n(r.id) + ", " + n(r.size) + ")";
    case Op::kThreadStart:
    case Op::kEnd:
      break;
  }
  return t + "?";
}

std::unique_ptr<Encoder> MakeEncoder(std::string_view harness) {
  if (harness == "per_thread") return MakePerThreadEncoder();
  if (harness == "lifecycle") return MakeLifecycleEncoder();
  if (harness == "c_interface") return MakeCInterfaceEncoder();
  return nullptr;
}

const std::vector<std::string_view>& HarnessNames() {
  static const std::vector<std::string_view> names = {"per_thread", "lifecycle",
                                                      "c_interface"};
  return names;
}

}  // namespace rusty_malloc::trace_to_fuzz

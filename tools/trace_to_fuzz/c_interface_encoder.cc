// The encoder for fuzz/malloc_fuzzer.cc: one thread, so a window's threads
// are merged in time order. An op byte (Model::Step's table, modulo 22),
// then the function's own:
//   0  malloc: size                   2  calloc: count, size
//   4  realloc: byte (0: of nullptr), [uint16 block,] size, byte (0: to 0)
//   6  aligned_alloc  7  posix_memalign  8  memalign: alignment, size
//   11 free: byte (1: unsized, 2: sized delete), uint16 block
//   13 malloc_usable_size: uint16 block
//   14 operator new: byte 1, byte (1: aligned), size, log2 alignment
//   18 free_sized: uint16 block
// A recorded aligned allocation takes aligned_alloc when its size is a
// multiple of the alignment, else posix_memalign (or memalign below 8).
// Sizes are decoded by fuzz/c_interface/decode.cc, whose largest the model
// refuses; the model also skips a request above its budget (kLiveCap, and
// the work left to the input: kWorkPerInput), and so does this encoder, so
// later blocks are the recording's. An input ends where the work does.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/trace_to_fuzz/encoder.h"
#include "tools/trace_to_fuzz/encoders.h"
#include "tools/trace_to_fuzz/fuzz_bytes.h"

namespace rusty_malloc::trace_to_fuzz {
namespace {

// fuzz/c_interface/model.h and decode.h (the model's kPage is the
// system's page size: 4 KiB on the machines that fuzz).
constexpr std::size_t kWorkPerInput = 1024;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kLiveCap = std::size_t{64} << 20;

struct Block {
  std::uint64_t id;
  bool is_new;       // Made by operator new.
  std::size_t cost;  // What it adds to the model's live bytes.
};

class Encoding {
 public:
  Encoding(const Window& window, std::size_t max_len)
      : window_(window), max_len_(max_len) {}

  Encoded Run() {
    for (const Call& call : window_.calls) {
      if (state_.work >= kWorkPerInput) break;  // Model::Run stops reading.
      const State before = state_;
      std::vector<std::uint8_t> op;
      const std::string what = Plan(call, &op);
      if (op.empty()) {
        state_ = before;
        ++out_.skipped;
        out_.explained.push_back(Describe(call) + " => skipped");
        continue;
      }
      if (out_.bytes.size() + op.size() > max_len_) {
        state_ = before;
        break;
      }
      out_.bytes.insert(out_.bytes.end(), op.begin(), op.end());
      ++out_.encoded;
      out_.explained.push_back(Describe(call) + " => " + what);
    }
    return std::move(out_);
  }

 private:
  struct State {
    std::vector<Block> live;  // Model::live_'s order.
    std::size_t live_bytes = 0;
    std::size_t work = 0;
  };

  // Encodes `call` into `op` and updates the state as the model will; an
  // empty `op` for a call the model would not make.
  std::string Plan(const Call& call, std::vector<std::uint8_t>* op) {
    const Request q = Classify(call.record);
    ++state_.work;  // Model::Step's.
    long at = -1;
    if (q.action != Request::kAllocate && q.action != Request::kNone) {
      at = Find(q.action == Request::kReallocate ? q.old_id : q.id);
    }
    switch (q.action) {
      case Request::kNone:
        return "";
      case Request::kAllocate:
        return Allocate(q, op);
      case Request::kReallocate:
        if (at < 0) return Allocate(q, op);  // Its block is not ours.
        return Reallocate(q, at, op);
      case Request::kFree:
        if (at < 0) return "";
        return Free(q, at, op);
      case Request::kUsableSize:
        if (at < 0) return "";
        op->push_back(13);
        PutUint16(*op, at);
        return "malloc_usable_size [" + std::to_string(at) + "]";
    }
    return "";
  }

  std::string Allocate(const Request& q, std::vector<std::uint8_t>* op) {
    if (q.op == trace::Op::kCalloc) {
      Encoded3 count = CInterfaceCount(q.count);
      Encoded3 size = CInterfaceSize(q.element);
      if (count.value != q.count) {  // More elements than it can say.
        count = CInterfaceCount(1);
        size = CInterfaceSize(q.size);
      }
      const std::size_t bytes = count.value * size.value;
      if (bytes > Budget()) return "";
      state_.work += bytes / kPage;  // CheckZero's.
      op->push_back(2);
      Put(*op, count);
      Put(*op, size);
      Admit(q.id, false, bytes, 16);
      return "calloc(" + std::to_string(count.value) + ", " +
             std::to_string(size.value) + ")";
    }
    const Encoded3 size = CInterfaceSize(q.size);
    if (q.op == trace::Op::kNew) {
      const Encoded1 align = CInterfaceAlign(q.align);
      const bool aligned = q.align != 0;
      const std::size_t served =
          aligned ? std::max<std::size_t>(align.value, 16) : 16;
      if (Cost(size.value, served) > Budget()) return "";
      *op = {14, 1, static_cast<std::uint8_t>(aligned ? 1 : 0)};
      Put(*op, size);
      op->push_back(static_cast<std::uint8_t>(std::countr_zero(align.value)));
      Admit(q.id, true, size.value, served);
      return "operator new " + std::to_string(size.value) + " align " +
             std::to_string(aligned ? align.value : 0);
    }
    if (q.op == trace::Op::kAlignedAlloc) {
      const Encoded1 align = CInterfaceAlign(q.align);
      const std::size_t served = std::max<std::size_t>(align.value, 16);
      if (Cost(size.value, served) > Budget()) return "";
      const char* name = size.value % align.value == 0 ? "aligned_alloc"
                         : align.value >= 8            ? "posix_memalign"
                                                       : "memalign";
      op->push_back(name[0] == 'a' ? 6 : name[0] == 'p' ? 7 : 8);
      op->push_back(align.byte);
      Put(*op, size);
      Admit(q.id, false, size.value, served);
      return std::string(name) + "(" + std::to_string(align.value) + ", " +
             std::to_string(size.value) + ")";
    }
    if (size.value > Budget()) return "";
    if (q.op == trace::Op::kRealloc) {  // Of nullptr, or of a block not ours.
      *op = {4, 0};
      Put(*op, size);
      op->push_back(1);
      Admit(q.id, false, size.value, 16);
      return "realloc(nullptr, " + std::to_string(size.value) + ")";
    }
    op->push_back(0);
    Put(*op, size);
    Admit(q.id, false, size.value, 16);
    return "malloc(" + std::to_string(size.value) + ")";
  }

  std::string Reallocate(const Request& q, long at,
                         std::vector<std::uint8_t>* op) {
    const Block old = state_.live[at];
    if (old.is_new) return "";  // The model reallocates only C blocks.
    const Encoded3 size = CInterfaceSize(q.size);
    if (size.value > Budget() + old.cost) return "";
    *op = {4, 1};
    PutUint16(*op, at);
    Put(*op, size);
    op->push_back(1);
    Forget(at);
    Admit(q.id, false, size.value, 16);
    return "realloc([" + std::to_string(at) + "], " +
           std::to_string(size.value) + ")";
  }

  std::string Free(const Request& q, long at, std::vector<std::uint8_t>* op) {
    const bool is_new = state_.live[at].is_new;
    std::string what;
    if (q.op == trace::Op::kRealloc) {  // realloc(p, 0) frees.
      if (is_new) return "";
      *op = {4, 1};
      PutUint16(*op, at);
      op->insert(op->end(), {0, 0, 0, 0});  // Size 0, and 0: to 0.
      what = "realloc([" + std::to_string(at) + "], 0)";
    } else if (!is_new && (q.op == trace::Op::kFreeSized ||
                           q.op == trace::Op::kDeleteSized)) {
      op->push_back(18);
      PutUint16(*op, at);
      what = "free_sized [" + std::to_string(at) + "]";
      ++state_.work;  // FreeSized's.
    } else {
      const bool sized = is_new && q.op == trace::Op::kDeleteSized;
      *op = {11, static_cast<std::uint8_t>(sized ? 2 : 1)};
      PutUint16(*op, at);
      what = std::string(!is_new ? "free"
                         : sized ? "sized delete"
                                 : "delete") +
             " [" + std::to_string(at) + "]";
      ++state_.work;  // Release's.
    }
    Forget(at);
    return what;
  }

  // Model::Budget: the most the next request may add.
  std::size_t Budget() const {
    const std::size_t work = state_.work;
    const std::size_t work_left =
        work < kWorkPerInput ? (kWorkPerInput - work) * kPage / 2 : 0;
    return std::min(kLiveCap - state_.live_bytes, work_left);
  }
  static std::size_t Cost(std::size_t size, std::size_t served) {
    return size + (served > 16 ? served : 0);
  }

  // Model::Admit's bookkeeping for a block of `size` served at `served`.
  void Admit(std::uint64_t id, bool is_new, std::size_t size,
             std::size_t served) {
    state_.work += 1 + size / kPage;
    state_.live.push_back({id, is_new, Cost(size, served)});
    state_.live_bytes += Cost(size, served);
  }
  void Forget(std::size_t at) {
    state_.live_bytes -= state_.live[at].cost;
    state_.live[at] = state_.live.back();
    state_.live.pop_back();
  }
  long Find(std::uint64_t id) const {
    for (std::size_t i = 0; i < state_.live.size(); ++i) {
      if (state_.live[i].id == id) return static_cast<long>(i);
    }
    return -1;
  }

  const Window& window_;
  const std::size_t max_len_;
  Encoded out_;
  State state_;
};

class CInterfaceEncoder : public Encoder {
 public:
  std::string_view name() const override { return "c_interface"; }
  std::string_view fuzzer() const override { return "malloc_fuzzer"; }
  std::size_t max_len() const override { return 1024; }
  Encoded Encode(const Window& window, std::size_t max_len) const override {
    return Encoding(window, max_len).Run();
  }
};

}  // namespace

std::unique_ptr<Encoder> MakeCInterfaceEncoder() {
  return std::make_unique<CInterfaceEncoder>();
}

}  // namespace rusty_malloc::trace_to_fuzz

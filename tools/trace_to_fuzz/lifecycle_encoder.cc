// The encoder for fuzz/per_thread_lifecycle_fuzzer.cc: a byte for the chunk
// source (1: the grower's, which every build runs most), then commands
// (Lifecycle::Step in fuzz/lifecycle/lifecycle.h), each an op byte and an
// actor byte (recorded thread t on actor t % 4), then its own:
//   0  count = 1 + 4 * byte blocks of ClassSize(class) - byte % 16 bytes
//   2  one block: size, alignment 1 << (byte % 13)
//   3  free the span (page) of live block [uint16] (byte 1: not the chunk)
//   5  resize live block [uint16] to size
//   6  the actor's thread exits (the next command for it starts another)
// A run of one thread's allocations of one size, all of a small class,
// takes one command 0 in counts of 1 + 4n. A free frees the block's page:
// every live block of its class there that the same thread's heap gave,
// which may be more than the recorded call freed; this encoder counts only
// that one as gone, so later commands may pick other blocks than the
// recording's when a page held several. Usable size has no command.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "allocator/per_thread/size_classes.h"
#include "tools/trace_to_fuzz/encoder.h"
#include "tools/trace_to_fuzz/encoders.h"
#include "tools/trace_to_fuzz/fuzz_bytes.h"

namespace rusty_malloc::trace_to_fuzz {
namespace {

// fuzz/lifecycle/bounds.h: kMaxLiveBytesGrower and kMaxLiveBlocks.
constexpr std::size_t kMaxLiveBytes = std::size_t{10} << 20;
constexpr std::size_t kMaxLiveBlocks = 16384;
constexpr int kActors = 4;
// A command 0 makes at most 1 + 4 * 255 blocks.
constexpr std::size_t kMostInOneCommand = 1 + 4 * 255;

// The class a command 0 names for `size`, or -1 when none gives it.
int OneClassFor(std::size_t size) {
  if (size == 0 || size > kSmallMax) return -1;
  const int cls = SizeClassOf(size);
  return ClassSize(cls) - size < 16 ? cls : -1;
}

// The default and the small classes' alignment, kGranule.
bool Plain(const Request& q) {
  return q.action == Request::kAllocate && q.align <= 16;
}

class Encoding {
 public:
  explicit Encoding(const Window& window, std::size_t max_len)
      : calls_(window.calls), max_len_(max_len) {
    out_.bytes = {1};
  }

  Encoded Run() {
    for (std::size_t i = 0; i < calls_.size();) {
      const std::size_t used = Step(i);
      if (used == 0) break;  // Cut: the next command does not fit.
      i += used;
    }
    return std::move(out_);
  }

 private:
  // Encodes the call at `i` (and the rest of a run with it); how many calls
  // it took, 0 if it did not fit.
  std::size_t Step(std::size_t i) {
    const Call& call = calls_[i];
    const Request q = Classify(call.record);
    const auto actor = static_cast<std::uint8_t>(call.thread % kActors);
    std::vector<std::uint8_t> op;
    std::size_t taken = 1;
    std::string what;
    long at = -1;
    if (q.action == Request::kFree || q.action == Request::kReallocate) {
      at = live_.Find(q.action == Request::kFree ? q.id : q.old_id);
    }
    const bool allocates = q.action == Request::kAllocate ||
                           (q.action == Request::kReallocate && at < 0);
    std::vector<std::uint64_t> made;
    std::size_t made_size = 0;
    if (allocates && Plain(q) && OneClassFor(q.size) >= 0) {
      const int cls = OneClassFor(q.size);
      std::size_t run = 1;
      while (i + run < calls_.size() && run < kMostInOneCommand) {
        const Call& next = calls_[i + run];
        const Request r = Classify(next.record);
        if (next.thread != call.thread || !Plain(r) || r.size != q.size ||
            next.thread_ends || call.thread_ends) {
          break;
        }
        ++run;
      }
      if (call.thread_ends) run = 1;
      taken = 1 + (run - 1) / 4 * 4;
      for (std::size_t k = 0; k < taken; ++k) {
        if (!Fits(q.size, made.size())) break;
        made.push_back(Classify(calls_[i + k].record).id);
      }
      made_size = q.size;
      op = {0, actor, static_cast<std::uint8_t>(cls),
            static_cast<std::uint8_t>((taken - 1) / 4),
            static_cast<std::uint8_t>(ClassSize(cls) - q.size)};
      what = std::to_string(taken) + " x allocate " + std::to_string(q.size);
    } else if (allocates) {
      const Encoded3 size = ModelSize(q.size);
      const Encoded1 align = LifecycleAlignment(q.align == 0 ? 16 : q.align);
      if (Fits(size.value, 0)) made.push_back(q.id);
      made_size = size.value;
      op = {2, actor, size.bytes[0], size.bytes[1], size.bytes[2], align.byte};
      what = "allocate " + std::to_string(size.value) + " align " +
             std::to_string(align.value);
    } else if (at >= 0 && q.action == Request::kFree) {
      op = {3, actor, static_cast<std::uint8_t>(at),
            static_cast<std::uint8_t>(at >> 8), 1};
      what = "free the page of [" + std::to_string(at) + "]";
    } else if (at >= 0 && q.action == Request::kReallocate) {
      const Encoded3 size = ModelSize(q.size);
      op = {5,
            actor,
            static_cast<std::uint8_t>(at),
            static_cast<std::uint8_t>(at >> 8),
            size.bytes[0],
            size.bytes[1],
            size.bytes[2]};
      what = "resize [" + std::to_string(at) + "] to " +
             std::to_string(size.value);
      made_size = size.value;
    }
    const bool encoded = !op.empty();
    if (call.thread_ends) {
      op.insert(op.end(), {6, actor});
      what += encoded ? ", thread exits" : "thread exits";
    }
    if (op.empty()) {
      ++out_.skipped;
      out_.explained.push_back(Describe(call) + " => skipped");
      return taken;
    }
    if (out_.bytes.size() + op.size() > max_len_) return 0;
    out_.bytes.insert(out_.bytes.end(), op.begin(), op.end());
    (encoded ? out_.encoded : out_.skipped) += taken;
    for (std::size_t k = 0; k < taken; ++k) {
      out_.explained.push_back(Describe(calls_[i + k]) + " => " + what);
    }
    // The model's blocks after the command, as the harness's change.
    if (at >= 0 && q.action == Request::kFree) {
      live_bytes_ -= sizes_[at];
      Remove(at);
    } else if (at >= 0 && q.action == Request::kReallocate) {
      // Refused above the live-byte bound: the block stays as it was.
      if (live_bytes_ - sizes_[at] + made_size <= kMaxLiveBytes) {
        live_bytes_ += made_size - sizes_[at];
        live_[at] = q.id;
        sizes_[at] = made_size;
      }
    }
    for (const std::uint64_t id : made) {
      live_.Add(id);
      sizes_.push_back(made_size);
      live_bytes_ += made_size;
    }
    return taken;
  }

  // Whether the harness makes a block of `size` when `pending` more of that
  // size are already on their way (AllocateMany's bounds).
  bool Fits(std::size_t size, std::size_t pending) const {
    return live_bytes_ + (pending + 1) * size <= kMaxLiveBytes &&
           live_.size() + pending < kMaxLiveBlocks;
  }

  void Remove(std::size_t at) {
    live_.Remove(at);
    sizes_[at] = sizes_.back();
    sizes_.pop_back();
  }

  const std::vector<Call>& calls_;
  const std::size_t max_len_;
  Encoded out_;
  LiveList live_;
  std::vector<std::size_t> sizes_;  // Parallel to live_.
  std::size_t live_bytes_ = 0;
};

class LifecycleEncoder : public Encoder {
 public:
  std::string_view name() const override { return "lifecycle"; }
  std::string_view fuzzer() const override {
    return "per_thread_lifecycle_fuzzer";
  }
  std::size_t max_len() const override { return 64; }
  Encoded Encode(const Window& window, std::size_t max_len) const override {
    return Encoding(window, max_len).Run();
  }
};

}  // namespace

std::unique_ptr<Encoder> MakeLifecycleEncoder() {
  return std::make_unique<LifecycleEncoder>();
}

}  // namespace rusty_malloc::trace_to_fuzz

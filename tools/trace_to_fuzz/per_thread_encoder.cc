// The encoder for fuzz/per_thread_malloc_fuzzer.cc. Its first byte picks
// the mode: even, one thread against HeapModel, with RunModelOps's ops
// (fuzz/model_ops.h); odd, the rest split into four equal streams, one per
// thread, of RunConcurrently's ops (fuzz/concurrent_harness.h). A
// one-thread window takes the first, a wider one the second, recorded
// thread t on the harness's thread t % 4. Sampling stays off (the first
// byte's other bits).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "tools/trace_to_fuzz/encoder.h"
#include "tools/trace_to_fuzz/encoders.h"
#include "tools/trace_to_fuzz/fuzz_bytes.h"

namespace rusty_malloc::trace_to_fuzz {
namespace {

// RunModelOps and the concurrent streams read a block's index as a byte.
constexpr std::size_t kModelReach = 256;
// The model's heap has a 64 MiB grower; stay well inside it.
constexpr std::size_t kModelLiveBytes = std::size_t{32} << 20;
// concurrent_harness.h's kThreads and kSlots.
constexpr int kThreads = 4;
constexpr int kSlots = 8;
// A stream's op that does nothing here (verify_while_running is off): the
// streams are padded with it to one length.
constexpr std::uint8_t kNoOp = 5;

std::string Explain(const Call& call, const std::string& what) {
  return Describe(call) + " => " + what;
}

std::string Sized(const char* op, std::size_t size, std::size_t align) {
  return std::string(op) + " " + std::to_string(size) + " align " +
         std::to_string(align);
}

// One thread against HeapModel: 0 allocate (size, alignment), 1 free
// (index), 2 reallocate (index, size, alignment), 3 usable size (index).
Encoded EncodeModel(const Window& window, std::size_t max_len) {
  Encoded out;
  out.bytes = {0};
  LiveList live;
  std::map<std::uint64_t, std::size_t> sizes;
  std::size_t live_bytes = 0;
  for (const Call& call : window.calls) {
    const Request q = Classify(call.record);
    std::vector<std::uint8_t> op;
    std::string what;
    long at = -1;
    if (q.action == Request::kFree || q.action == Request::kReallocate ||
        q.action == Request::kUsableSize) {
      at = live.Find(q.action == Request::kReallocate ? q.old_id : q.id);
      if (at >= static_cast<long>(kModelReach)) at = -1;
    }
    const bool allocates = q.action == Request::kAllocate ||
                           (q.action == Request::kReallocate && at < 0);
    const Encoded3 size = ModelSize(q.size);
    if (allocates) {
      const Encoded1 align = ModelAlignment(q.align == 0 ? 16 : q.align);
      if (live_bytes + size.value <= kModelLiveBytes) {
        op = {0, size.bytes[0], size.bytes[1], size.bytes[2], align.byte};
        what = Sized("allocate", size.value, align.value);
      }
    } else if (at >= 0 && q.action == Request::kFree) {
      op = {1, static_cast<std::uint8_t>(at)};
      what = "free [" + std::to_string(at) + "]";
    } else if (at >= 0 && q.action == Request::kReallocate) {
      const std::size_t grown =
          live_bytes - sizes[live[at]] + std::max(size.value, sizes[live[at]]);
      if (grown <= kModelLiveBytes) {
        op = {2,
              static_cast<std::uint8_t>(at),
              size.bytes[0],
              size.bytes[1],
              size.bytes[2],
              ModelAlignment(16).byte};
        what = "reallocate [" + std::to_string(at) + "] to " +
               std::to_string(size.value);
      }
    } else if (at >= 0 && q.action == Request::kUsableSize) {
      op = {3, static_cast<std::uint8_t>(at)};
      what = "usable size [" + std::to_string(at) + "]";
    }
    if (op.empty()) {
      ++out.skipped;
      out.explained.push_back(Explain(call, "skipped"));
      continue;
    }
    if (out.bytes.size() + op.size() > max_len) break;
    out.bytes.insert(out.bytes.end(), op.begin(), op.end());
    ++out.encoded;
    out.explained.push_back(Explain(call, what));
    if (at >= 0 && q.action != Request::kUsableSize) {
      live_bytes -= sizes[live[at]];
      sizes.erase(live[at]);
      live.Remove(at);
    }
    if (allocates || q.action == Request::kReallocate) {
      live.Add(q.id);
      sizes[q.id] = size.value;
      live_bytes += size.value;
    }
  }
  return out;
}

// The concurrent streams: 0 allocate (size, alignment modulo 4096), 2 free
// (index, if the thread holds a block), 3 reallocate (index, size), 4 swap
// with a slot ([an even byte: give the thread's last block,] slot), 5
// nothing. A block freed or resized by another thread than the one
// holding it goes there through a slot: given as soon as it is the
// holder's last block and the next to touch it is another thread, taken
// just before that thread does. The threads run at once, so a take may come
// before its give: that thread then takes nothing, or another block, and
// frees what it holds instead; the input stays valid either way.
class Streams {
 public:
  explicit Streams(const Window& window) {
    for (std::size_t i = 0; i < window.calls.size(); ++i) {
      const Request q = Classify(window.calls[i].record);
      const int thread = window.calls[i].thread % kThreads;
      if (q.action == Request::kAllocate || q.action == Request::kFree) {
        touches_[q.id].push_back(thread);
      } else if (q.action == Request::kReallocate) {
        touches_[q.old_id].push_back(thread);
        touches_[q.id].push_back(thread);
      }
    }
  }

  // Plans one call's bytes, on a copy of the streams that Commit makes
  // theirs; what it makes of the call, or "" for a call it skips.
  std::string Plan(const Call& call) {
    planned_ = streams_;
    planned_mine_ = mine_;
    planned_slots_ = slots_;
    planned_last_slot_ = last_slot_;
    const Request q = Classify(call.record);
    const int t = call.thread % kThreads;
    std::vector<std::uint8_t>& out = planned_[t];
    LiveList& mine = planned_mine_[t];
    std::string what;
    if (q.action == Request::kFree || q.action == Request::kReallocate) {
      const std::uint64_t id = q.action == Request::kFree ? q.id : q.old_id;
      Took(id);
      long at = TakeIfSlotted(t, id);
      if (at >= static_cast<long>(kModelReach)) at = -1;  // A byte's reach.
      if (at < 0 && q.action == Request::kFree) return "";
      if (at >= 0 && q.action == Request::kFree) {
        out.insert(out.end(), {2, static_cast<std::uint8_t>(at)});
        mine.Remove(at);
        return "thread " + std::to_string(t) + " free [" + std::to_string(at) +
               "]";
      }
      if (at >= 0) {
        const Encoded3 size = ModelSize(q.size);
        out.insert(out.end(), {3, static_cast<std::uint8_t>(at), size.bytes[0],
                               size.bytes[1], size.bytes[2]});
        mine[at] = q.id;
        Took(q.id);
        what = "thread " + std::to_string(t) + " reallocate [" +
               std::to_string(at) + "] to " + std::to_string(size.value);
        MaybeGive(t, q.id);
        return what;
      }
    }
    if (q.action != Request::kAllocate && q.action != Request::kReallocate) {
      return "";
    }
    const Encoded3 size = ModelSize(q.size);
    // Alignment() % 4096: 2 KiB at most.
    const Encoded1 align = ModelAlignment(
        std::min<std::size_t>(q.align == 0 ? 16 : q.align, 2048));
    out.insert(out.end(),
               {0, size.bytes[0], size.bytes[1], size.bytes[2], align.byte});
    mine.Add(q.id);
    Took(q.id);
    what = "thread " + std::to_string(t) + " " +
           Sized("allocate", size.value, align.value);
    MaybeGive(t, q.id);
    return what;
  }

  // The planned length of thread t's stream (a call changes only its own).
  std::size_t PlannedLength(int t) const { return planned_[t].size(); }

  void Commit() {
    streams_ = planned_;
    mine_ = planned_mine_;
    slots_ = planned_slots_;
    last_slot_ = planned_last_slot_;
  }

  std::vector<std::uint8_t> Bytes() const {
    std::size_t longest = 0;
    for (const auto& s : streams_) longest = std::max(longest, s.size());
    std::vector<std::uint8_t> bytes = {1};
    for (const auto& s : streams_) {
      bytes.insert(bytes.end(), s.begin(), s.end());
      bytes.insert(bytes.end(), longest - s.size(), kNoOp);
    }
    return bytes;
  }

 private:
  // The call that touched `id` is done with it: the next toucher is next.
  void Took(std::uint64_t id) {
    auto it = touches_.find(id);
    if (it != touches_.end() && !it->second.empty()) it->second.pop_front();
  }

  // Takes `id` from its slot if it waits there for thread `t`; `id`'s index
  // in t's blocks, or -1 if t does not hold it.
  long TakeIfSlotted(int t, std::uint64_t id) {
    LiveList& mine = planned_mine_[t];
    for (int s = 0; s < kSlots; ++s) {
      if (planned_slots_[s] != id) continue;
      std::vector<std::uint8_t>& out = planned_[t];
      out.push_back(4);
      if (!mine.empty()) out.push_back(1);  // Odd: give nothing.
      out.push_back(static_cast<std::uint8_t>(s));
      planned_slots_[s] = 0;
      mine.Add(id);
      break;
    }
    return mine.Find(id);
  }

  // Gives `id` to a free slot when t's last block is `id` and another
  // thread touches it next.
  void MaybeGive(int t, std::uint64_t id) {
    LiveList& mine = planned_mine_[t];
    auto it = touches_.find(id);
    if (it == touches_.end() || it->second.empty() || it->second.front() == t ||
        mine.empty() || mine.back() != id) {
      return;
    }
    // The free slot used longest ago: a slot taken from only just now may
    // not be, when the threads run at once.
    for (int k = 1; k <= kSlots; ++k) {
      const int s = (planned_last_slot_ + k) % kSlots;
      if (planned_slots_[s] != 0) continue;
      planned_[t].insert(planned_[t].end(),
                         {4, 0, static_cast<std::uint8_t>(s)});
      planned_slots_[s] = id;
      planned_last_slot_ = s;
      mine.pop_back();
      return;
    }
  }

  // The threads a block is touched by, in turn (allocation included).
  std::map<std::uint64_t, std::deque<int>> touches_;
  std::array<std::vector<std::uint8_t>, kThreads> streams_, planned_;
  std::array<LiveList, kThreads> mine_, planned_mine_;
  std::array<std::uint64_t, kSlots> slots_{}, planned_slots_{};
  int last_slot_ = kSlots - 1, planned_last_slot_ = kSlots - 1;
};

// Each stream gets an equal share of the bytes after the mode byte: a
// thread whose next call does not fit in its share is cut there, and the
// others go on, so that one busy thread does not leave the rest empty.
Encoded EncodeConcurrent(const Window& window, std::size_t max_len) {
  Encoded out;
  Streams streams(window);
  const std::size_t share = (std::max<std::size_t>(max_len, 1) - 1) / kThreads;
  std::array<bool, kThreads> cut{};
  for (const Call& call : window.calls) {
    const int t = call.thread % kThreads;
    if (cut[t]) continue;
    const std::string what = streams.Plan(call);
    if (what.empty()) {
      ++out.skipped;
      out.explained.push_back(Explain(call, "skipped"));
      continue;
    }
    if (streams.PlannedLength(t) > share) {
      cut[t] = true;
      continue;
    }
    streams.Commit();
    ++out.encoded;
    out.explained.push_back(Explain(call, what));
  }
  out.bytes = streams.Bytes();
  return out;
}

class PerThreadEncoder : public Encoder {
 public:
  std::string_view name() const override { return "per_thread"; }
  std::string_view fuzzer() const override {
    return "per_thread_malloc_fuzzer";
  }
  std::size_t max_len() const override { return 256; }
  Encoded Encode(const Window& window, std::size_t max_len) const override {
    return window.threads == 1 ? EncodeModel(window, max_len)
                               : EncodeConcurrent(window, max_len);
  }
};

}  // namespace

std::unique_ptr<Encoder> MakePerThreadEncoder() {
  return std::make_unique<PerThreadEncoder>();
}

}  // namespace rusty_malloc::trace_to_fuzz

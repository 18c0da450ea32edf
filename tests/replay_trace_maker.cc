// Writes the traces tests/replay_test.sh replays. Usage:
//   replay_trace_maker KIND OUT
// KIND:
//   mixed          4 threads, ~4000 records of every op: blocks freed,
//                  reallocated and used by threads other than the one that
//                  allocated them, realloc chains, aligned and calloc'd
//                  blocks, new and delete, failed allocations, blocks left
//                  live at the end.
//   cut            mixed without its end, cut in the middle of its last
//                  frame.
//   unknown_free   a complete trace that frees an id never allocated.
//   use_after_free a block used by its thread after that thread freed it.
// For the last two, prints the offset of the record at fault.
//
// The mixed trace comes from a simulated run: one sequence of steps, each
// by one of the threads, on blocks that are live at that step, so every
// record is valid in the order the replay enforces and the replay cannot
// deadlock.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "allocator/trace/trace_format.h"
#include "tests/trace_builder.h"

namespace rusty_malloc::trace::testing {
namespace {

constexpr int kThreads = 4;
constexpr int kSteps = 4000;
constexpr std::uint64_t kHuge = std::uint64_t{1} << 62;

// xorshift64*: the same trace on every machine.
class Rng {
 public:
  std::uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1du;
  }
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }
  bool OneIn(std::uint64_t n) { return Below(n) == 0; }

 private:
  std::uint64_t state_ = 0x9e3779b97f4a7c15u;
};

struct Block {
  std::uint64_t id;
  std::uint64_t size;
  bool from_new;
};

class MixedTrace {
 public:
  // The trace; with `cut`, without its end and its last frame cut short.
  std::vector<unsigned char> Make(bool cut) {
    for (int t = 0; t < kThreads; ++t) Add(t, Start(static_cast<unsigned>(t)));
    for (int step = 0; step < kSteps; ++step) {
      Step(static_cast<int>(rng_.Below(kThreads)));
    }
    for (int t = 1; t < kThreads; ++t) Flush(t);
    if (cut) {
      Flush(0);
      builder_.mutable_bytes().resize(builder_.size() - 2);
    } else {
      Add(0, End());
      Flush(0);
    }
    return builder_.bytes();
  }

  // How many records of `op` the trace holds.
  int Count(Op op) const { return counts_[static_cast<int>(op)]; }

 private:
  void Step(int t) {
    switch (rng_.Below(10)) {
      case 0:
      case 1:
      case 2:
        return AllocateOne(t);
      case 3:
      case 4:
      case 5:
        return FreeOne(t);
      case 6:
        return ReallocChain(t, 1 + rng_.Below(4));
      case 7:
        return UseOne(t);
      case 8:
        return FailOne(t);
      default:
        return Oddity(t);
    }
  }

  // Mostly small, some past a page, a few past the per-thread heap's small
  // sizes (256 KiB) and some MiB.
  std::uint64_t Size() {
    const std::uint64_t kind = rng_.Below(100);
    if (kind < 60) return rng_.Below(257);
    if (kind < 85) return 257 + rng_.Below(8 * 1024);
    if (kind < 95) return rng_.Below(128 * 1024);
    if (kind < 99) return 128 * 1024 + rng_.Below(1024 * 1024);
    return (1 + rng_.Below(3)) << 20;
  }

  void AllocateOne(int t) {
    const std::uint64_t id = next_id_++;
    const std::uint64_t size = Size();
    bool from_new = false;
    switch (rng_.Below(5)) {
      case 0:
        Add(t, Malloc(size, id));
        break;
      case 1: {
        const std::uint64_t count = 1 + rng_.Below(16);
        Add(t, Calloc(count, size / count, id));
        Keep(t, {id, size / count * count, false});
        return;
      }
      case 2: {
        static constexpr std::uint64_t kAligns[] = {1, 8, 24, 64, 4096, 65536};
        Add(t, AlignedAlloc(kAligns[rng_.Below(6)], size, id));
        break;
      }
      case 3: {
        static constexpr std::uint64_t kAligns[] = {0, 0, 32, 64, 256};
        Add(t, New(kAligns[rng_.Below(5)], size, id));
        from_new = true;
        break;
      }
      default:
        Add(t, Realloc(0, size, id));
    }
    Keep(t, {id, size, from_new});
  }

  // Half the blocks go where any thread may free, reallocate or use them.
  void Keep(int t, const Block& block) {
    (rng_.OneIn(2) ? shared_ : own_[t]).push_back(block);
  }

  // Takes a block for thread t: its own, or a shared one.
  bool Take(int t, Block* block) {
    std::vector<Block>& from = rng_.OneIn(2) ? shared_ : own_[t];
    if (from.empty()) return false;
    const std::size_t i = rng_.Below(from.size());
    *block = from[i];
    from[i] = from.back();
    from.pop_back();
    return true;
  }

  void FreeOne(int t) {
    Block block;
    if (!Take(t, &block)) return;
    const bool sized = rng_.OneIn(2);
    if (block.from_new) {
      Add(t, sized ? DeleteSized(block.id, block.size) : Delete(block.id));
    } else {
      Add(t, sized ? FreeSized(block.id, block.size) : Free(block.id));
    }
  }

  // A chain of `links` reallocs of one block, growing and shrinking.
  void ReallocChain(int t, std::uint64_t links) {
    Block block;
    if (!Take(t, &block)) return;
    if (block.from_new) return Keep(t, block);  // Not for realloc.
    for (std::uint64_t i = 0; i < links; ++i) {
      const std::uint64_t id = next_id_++;
      const std::uint64_t size = Size();
      Add(t, Realloc(block.id, size, id));
      block = {id, size, false};
    }
    Keep(t, block);
  }

  void UseOne(int t) {
    std::vector<Block>& from = rng_.OneIn(2) ? shared_ : own_[t];
    if (from.empty()) return;
    Add(t, UsableSize(from[rng_.Below(from.size())].id));
  }

  // What fails in any allocator: the records keep id 0.
  void FailOne(int t) {
    switch (rng_.Below(5)) {
      case 0:
        return Add(t, Malloc(kHuge, 0));
      case 1:  // count * size overflows.
        return Add(t, Calloc(kHuge, 16, 0));
      case 2:
        return Add(t, AlignedAlloc(64, kHuge, 0));
      case 3:
        return Add(t, New(rng_.OneIn(2) ? 0 : 64, kHuge, 0));
      default: {
        if (own_[t].empty() || own_[t].back().from_new) return;
        // A failed realloc keeps its block.
        return Add(t, Realloc(own_[t].back().id, kHuge, 0));
      }
    }
  }

  // realloc(p, 0) (frees, gives nullptr), and the calls on nullptr.
  void Oddity(int t) {
    switch (rng_.Below(4)) {
      case 0: {
        Block block;
        if (!Take(t, &block)) return;
        if (block.from_new) return Keep(t, block);
        return Add(t, Realloc(block.id, 0, 0));
      }
      case 1:
        return Add(t, Free(0));
      case 2:
        return Add(t, Delete(0));
      default:
        return Add(t, UsableSize(0));
    }
  }

  // Appends to thread t's buffer, which goes out as a frame now and then,
  // as the recorder's do.
  void Add(int t, Rec record) {
    record.delta_ns = 1 + rng_.Below(1000);
    ++counts_[static_cast<int>(record.op)];
    pending_[t].push_back(record);
    if (pending_[t].size() >= 1 + rng_.Below(32)) Flush(t);
  }

  void Flush(int t) {
    if (pending_[t].empty()) return;
    builder_.Frame(static_cast<std::uint64_t>(t) + 1, pending_[t]);
    pending_[t].clear();
  }

  Rng rng_;
  TraceBuilder builder_;
  std::uint64_t next_id_ = 1;
  std::vector<Block> own_[kThreads];
  std::vector<Block> shared_;
  std::vector<Rec> pending_[kThreads];
  int counts_[kLastOp + 1] = {};
};

bool Write(const char* path, const std::vector<unsigned char>& bytes) {
  std::FILE* file = std::fopen(path, "wb");
  if (file == nullptr) return false;
  const bool written =
      std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  return std::fclose(file) == 0 && written;
}

int Main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s KIND OUT\n", argv[0]);
    return 2;
  }
  const std::string kind = argv[1];
  std::vector<unsigned char> bytes;
  if (kind == "mixed" || kind == "cut") {
    MixedTrace trace;
    bytes = trace.Make(kind == "cut");
    for (std::uint8_t op = 1; op <= kLastOp; ++op) {
      const bool wanted = kind == "mixed" || op != kLastOp;
      if (wanted && trace.Count(static_cast<Op>(op)) == 0) {
        std::fprintf(stderr, "the trace has no op %u\n",
                     static_cast<unsigned>(op));
        return 1;
      }
    }
  } else if (kind == "unknown_free" || kind == "use_after_free") {
    TraceBuilder builder;
    builder.Frame(1, {Start(), Malloc(8, 1)});
    const Rec bad = kind == "unknown_free" ? Free(2) : UsableSize(1);
    const std::vector<std::size_t> at = builder.Frame(1, {Free(1), bad, End()});
    std::printf("%zu\n", at[1]);
    bytes = builder.bytes();
  } else {
    std::fprintf(stderr, "unknown kind %s\n", kind.c_str());
    return 2;
  }
  if (!Write(argv[2], bytes)) {
    std::perror(argv[2]);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace rusty_malloc::trace::testing

int main(int argc, char** argv) {
  return rusty_malloc::trace::testing::Main(argc, argv);
}

// tools/trace_to_fuzz's inputs for per_thread_malloc_fuzzer: the harness
// (compiled in, fuzz/per_thread_malloc_fuzzer.cc) runs each one, and its own
// decoders, RunModelOps (fuzz/model_ops.h) and the concurrent streams'
// Worker (fuzz/concurrent_harness.h), run it again on a heap that logs
// every call, which must be the window's calls, call for call.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "fuzz/concurrent_harness.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/model_ops.h"
#include "gtest/gtest.h"
#include "testing/test_growers.h"
#include "tests/trace_builder.h"
#include "tests/trace_to_fuzz_testing.h"
#include "tools/trace_to_fuzz/encoder.h"
#include "tools/trace_to_fuzz/fuzz_bytes.h"

namespace rusty_malloc::trace_to_fuzz_test {
namespace {

using trace::Op;
using trace::testing::TraceBuilder;
namespace tb = trace::testing;

// The heap the harness uses, every call logged.
template <typename Base>
class LoggingHeap : public Base {
 public:
  using Base::Base;
  void* Allocate(std::size_t size, std::size_t align = kGranule) {
    void* p = Base::Allocate(size, align);
    CallLog::Get().Add({0, "allocate", nullptr, p, 0, size, align});
    return p;
  }
  void Deallocate(void* p) {
    CallLog::Get().Add({0, "free", p});
    Base::Deallocate(p);
  }
  void* Reallocate(void* p, std::size_t size, std::size_t align = kGranule) {
    void* moved = Base::Reallocate(p, size, align);
    CallLog::Get().Add({0, "reallocate", p, moved, 0, size, align});
    return moved;
  }
  std::size_t UsableSize(void* p) {
    CallLog::Get().Add({0, "usable", p});
    return Base::UsableSize(p);
  }
};

// The harness's entry point: it aborts on anything it refuses.
void Accept(const std::vector<std::uint8_t>& bytes) {
  fuzzing::FuzzInput in(bytes.data(), bytes.size());
  fuzzing::FuzzOne(in);
}

// RunModelOps on a logging heap, as the harness's even first byte runs it.
std::vector<std::string> DecodeModel(const std::vector<std::uint8_t>& bytes) {
  CallLog::Get().Reset(0);
  LoggingHeap<PerThreadMalloc<GrowerChunkSource<testing::TestGrower>>> heap(
      testing::TestGrower(64 << 20));
  fuzzing::FuzzInput in(bytes.data(), bytes.size());
  EXPECT_EQ(in.Byte() % 2, 0);
  fuzzing::RunModelOps(heap, in);
  return Canonical(WithoutAdmitChecks(CallLog::Get().Take()));
}

// The four streams of an odd first byte, each on its own Worker as the
// harness splits them, run one after another (thread 0 first), so that a
// block given through a slot by a lower thread reaches a higher one.
std::vector<std::string> DecodeStreams(const std::vector<std::uint8_t>& bytes) {
  using namespace fuzzing::concurrent_internal;
  using Heap = LoggingHeap<PerThreadMalloc<MmapChunkSource>>;
  EXPECT_EQ(bytes.at(0) % 2, 1);
  CallLog::Get().Reset(0);
  Heap heap(std::size_t{1} << 30);
  std::atomic<Letter*> slots[kSlots] = {};
  std::atomic<long> live{0};
  const std::size_t chunk = (bytes.size() - 1) / kThreads;
  for (int t = 0; t < kThreads; ++t) {
    CallLog::Get().Label(t);
    const std::size_t length =
        t == kThreads - 1 ? bytes.size() - 1 - t * chunk : chunk;
    Worker<Heap>(heap, false, slots,
                 fuzzing::FuzzInput(bytes.data() + 1 + t * chunk, length),
                 std::uint64_t{static_cast<std::uint64_t>(t)} << 40, &live);
  }
  CallLog::Get().Label(kThreads);
  for (auto& slot : slots) {
    if (Letter* l = slot.exchange(nullptr)) {
      heap.Deallocate(l->block);
      delete l;
    }
  }
  return Canonical(CallLog::Get().Take());
}

// What the harness should do for the window: its calls on blocks the
// window made, each as the harness's heap sees it. `streams`: the
// concurrent harness's (no usable size; thread t as t % 4, alignment at
// most 2 KiB).
std::vector<std::string> Expected(const trace_to_fuzz::Window& window,
                                  std::size_t calls, bool streams) {
  std::vector<Logged> out;
  std::vector<std::uint64_t> known;
  auto is_known = [&](std::uint64_t id) {
    return std::find(known.begin(), known.end(), id) != known.end();
  };
  for (std::size_t i = 0; i < calls && i < window.calls.size(); ++i) {
    const trace_to_fuzz::Call& call = window.calls[i];
    const trace::Record& r = call.record;
    const int t = streams ? call.thread % 4 : 0;
    const std::size_t size =
        trace_to_fuzz::ModelSize(r.op == Op::kCalloc ? r.count * r.size
                                                     : r.size)
            .value;
    std::size_t align = r.align == 0 ? 16 : r.align;
    if (streams) align = std::min<std::size_t>(align, 2048);
    switch (r.op) {
      case Op::kMalloc:
      case Op::kCalloc:
      case Op::kAlignedAlloc:
      case Op::kNew:
        if (r.id == 0) break;
        out.push_back({t, "allocate", nullptr, Id(r.id), 0, size, align});
        known.push_back(r.id);
        break;
      case Op::kRealloc:
        if (r.id != 0 && !is_known(r.old_id)) {
          out.push_back({t, "allocate", nullptr, Id(r.id), 0, size, 16});
        } else if (r.id != 0) {
          out.push_back({t, "reallocate", Id(r.old_id), Id(r.id), 0, size, 16});
        } else if (r.size == 0 && is_known(r.old_id)) {
          out.push_back({t, "free", Id(r.old_id)});
        }
        if (r.id != 0) known.push_back(r.id);
        break;
      case Op::kFree:
      case Op::kFreeSized:
      case Op::kDelete:
      case Op::kDeleteSized:
        if (r.id != 0 && is_known(r.id)) out.push_back({t, "free", Id(r.id)});
        break;
      case Op::kUsableSize:
        if (is_known(r.id) && !streams) out.push_back({t, "usable", Id(r.id)});
        break;
      default:
        break;
    }
  }
  return Canonical(out);
}

// Checks `actual` (one thread's lines, or all) against `expected`: the
// same calls, then only the harness's frees of what was left.
void ExpectReplays(std::vector<std::string> actual,
                   const std::vector<std::string>& expected) {
  const std::vector<std::string> tail = Tail(actual, expected.size());
  EXPECT_EQ(actual, expected);
  EXPECT_TRUE(AllFrees(tail)) << ::testing::PrintToString(tail);
}

trace_to_fuzz::Encoded Encode(const trace_to_fuzz::Window& window,
                              std::size_t max_len = 256) {
  return trace_to_fuzz::MakeEncoder("per_thread")->Encode(window, max_len);
}

// One thread's every kind of call.
TraceBuilder OneThread() {
  TraceBuilder b;
  b.Frame(1, {tb::Start(),
              tb::Malloc(100, 1),
              tb::Calloc(3, 40, 2),
              tb::AlignedAlloc(256, 1000, 3),
              tb::New(0, 48, 4),
              tb::New(64, 72, 5),
              tb::UsableSize(2),
              tb::Realloc(1, 5000, 6),
              tb::Realloc(0, 24, 7),
              tb::Free(3),
              tb::FreeSized(2, 120),
              tb::Delete(4),
              tb::DeleteSized(5, 72),
              tb::Realloc(7, 0, 0),
              tb::Malloc(0, 8),
              tb::Malloc(70000, 9),
              tb::Free(0),
              tb::Malloc(1 << 20, 10),
              tb::Free(6),
              tb::End()});
  return b;
}

TEST(TraceToFuzzPerThreadTest, OneThreadRunsTheModelCallForCall) {
  std::string error;
  const auto window = WindowOf(OneThread(), {1, 100, 0}, &error);
  ASSERT_EQ(error, "");
  const auto encoded = Encode(window);
  EXPECT_EQ(encoded.encoded, window.calls.size() - 1);  // free(nullptr).
  EXPECT_LE(encoded.bytes.size(), 256u);
  Accept(encoded.bytes);
  ExpectReplays(DecodeModel(encoded.bytes),
                Expected(window, window.calls.size(), false));
}

TEST(TraceToFuzzPerThreadTest, BlocksFromBeforeTheWindowAreLeftAlone) {
  std::string error;
  const auto window = WindowOf(OneThread(), {1, 100, 5}, &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(window.calls.front().record.op, Op::kUsableSize);
  const auto encoded = Encode(window);
  EXPECT_GT(encoded.skipped, 5u);
  Accept(encoded.bytes);
  ExpectReplays(DecodeModel(encoded.bytes),
                Expected(window, window.calls.size(), false));
}

TEST(TraceToFuzzPerThreadTest, CutsAtTheLastWholeCallWithinMaxLen) {
  std::string error;
  const auto window = WindowOf(OneThread(), {1, 100, 0}, &error);
  const auto encoded = Encode(window, 20);  // The mode and three allocations.
  EXPECT_EQ(encoded.bytes.size(), 16u);
  EXPECT_EQ(encoded.encoded, 3u);
  Accept(encoded.bytes);
  ExpectReplays(DecodeModel(encoded.bytes), Expected(window, 3, false));
}

// A producer hands blocks to a consumer, which frees them and keeps its
// own; a third thread allocates and reads its own.
TraceBuilder ProducerConsumer() {
  TraceBuilder b;
  b.Frame(2, {tb::Start(1), After(14, tb::Malloc(64, 10)),
              After(10, tb::Free(1)), After(10, tb::Realloc(2, 1800, 11)),
              After(10, tb::Free(4)), After(10, tb::Free(10)),
              After(40, tb::Free(5)), After(10, tb::Free(11))});
  b.Frame(3, {tb::Start(2), After(3, tb::AlignedAlloc(4096, 200, 20)),
              After(20, tb::UsableSize(20)), After(20, tb::Malloc(16, 21)),
              After(20, tb::Free(20))});
  b.Frame(1, {tb::Start(0), After(10, tb::Malloc(700, 1)),
              After(10, tb::Malloc(900, 2)), After(10, tb::Malloc(24, 3)),
              After(10, tb::Malloc(3000, 4)), After(30, tb::Free(3)),
              After(10, tb::Malloc(5000, 5)), After(100, tb::End())});
  return b;
}

TEST(TraceToFuzzPerThreadTest, ThreadsRunAsStreamsWithBlocksHandedOver) {
  std::string error;
  const auto window = WindowOf(ProducerConsumer(), {3, 100, 0}, &error);
  ASSERT_EQ(error, "");
  const auto encoded = Encode(window);
  EXPECT_EQ(encoded.encoded, window.calls.size() - 1);  // The usable size.
  EXPECT_EQ((encoded.bytes.size() - 1) % 4, 0u);
  for (int run = 0; run < 20; ++run) Accept(encoded.bytes);
  const std::vector<std::string> actual = DecodeStreams(encoded.bytes);
  const std::vector<std::string> expected =
      Expected(window, window.calls.size(), true);
  for (int t = 0; t < 3; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    ExpectReplays(OfThread(actual, t), OfThread(expected, t));
  }
  EXPECT_EQ(OfThread(actual, 3), std::vector<std::string>());
  EXPECT_EQ(OfThread(actual, 4), std::vector<std::string>());  // No leftover.
}

TEST(TraceToFuzzPerThreadTest, StreamsKeepEqualLengthsWithinMaxLen) {
  std::string error;
  const auto window = WindowOf(ProducerConsumer(), {3, 100, 0}, &error);
  for (const std::size_t max_len : {9, 33, 61, 100}) {
    const auto encoded = Encode(window, max_len);
    EXPECT_LE(encoded.bytes.size(), max_len);
    EXPECT_EQ((encoded.bytes.size() - 1) % 4, 0u);
    Accept(encoded.bytes);
  }
}

// Windows of simulated runs: one thread's replay through the model call
// for call; several threads' the harness accepts.
TEST(TraceToFuzzPerThreadTest, WindowsOfRandomRuns) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const TraceBuilder b = RandomTrace(seed, 3, 900, 1 << 20);
    for (const std::size_t start : {0, 40, 150}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " start " +
                   std::to_string(start));
      std::string error;
      const auto one = WindowOf(b, {1, 400, start}, &error);
      ASSERT_EQ(error, "");
      const auto encoded = Encode(one);
      EXPECT_GT(encoded.encoded, 10u);
      Accept(encoded.bytes);
      ExpectReplays(DecodeModel(encoded.bytes),
                    Expected(one, encoded.encoded + encoded.skipped, false));
      for (const int threads : {2, 3}) {
        const auto many = WindowOf(b, {threads, 400, start}, &error);
        ASSERT_EQ(error, "");
        Accept(Encode(many).bytes);
      }
    }
  }
}

}  // namespace
}  // namespace rusty_malloc::trace_to_fuzz_test

// tools/trace_to_fuzz's inputs for per_thread_lifecycle_fuzzer: the harness
// (compiled in, fuzz/per_thread_lifecycle_fuzzer.cc) runs each one, and its
// own decoder, Lifecycle::Step (fuzz/lifecycle/lifecycle.h), runs it again
// on a heap that logs every call, which must be the window's calls, call for
// call, each on the thread of its recorded thread's actor.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/lifecycle/beside_others.h"
#include "fuzz/lifecycle/blocks.h"
#include "fuzz/lifecycle/bounds.h"
#include "fuzz/lifecycle/footprint.h"
#include "fuzz/lifecycle/fork.h"
#include "fuzz/lifecycle/lifecycle.h"
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

// The grower-backed heap the harness runs most inputs on, every call
// logged by the thread that makes it (an actor's).
class LoggingHeap
    : public PerThreadMalloc<GrowerChunkSource<testing::TestGrower>> {
 public:
  using Base = PerThreadMalloc<GrowerChunkSource<testing::TestGrower>>;
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
};

void Accept(const std::vector<std::uint8_t>& bytes) {
  fuzzing::FuzzInput in(bytes.data(), bytes.size());
  fuzzing::FuzzOne(in);
}

// lifecycle::Run (the harness's loop) on a logging heap; threads named by
// their first call.
std::vector<std::string> Decode(const std::vector<std::uint8_t>& bytes) {
  CallLog::Get().Reset(-1);
  {
    LoggingHeap heap(testing::TestGrower(std::size_t{64} * kChunkSize));
    fuzzing::FuzzInput in(bytes.data(), bytes.size());
    EXPECT_NE(in.Byte() % fuzzing::lifecycle::kMmapEvery, 0);
    fuzzing::lifecycle::Lifecycle<LoggingHeap> lifecycle(
        heap, fuzzing::lifecycle::kMaxLiveBytesGrower);
    for (int ops = 0; ops < 256 && !in.empty(); ++ops) lifecycle.Step(in);
    lifecycle.FreeAll();
  }
  std::vector<Logged> calls = CallLog::Get().Take();
  RelabelThreads(calls);
  return Canonical(calls);
}

// The window's calls as the harness makes them: on the actor of the
// recorded thread (a new thread on it after an exit), those on blocks the
// window made, usable sizes left out.
std::vector<std::string> Expected(const trace_to_fuzz::Window& window,
                                  std::size_t calls) {
  std::vector<Logged> out;
  std::map<std::uint64_t, bool> known;
  std::map<int, int> started;  // Threads each actor has had.
  for (std::size_t i = 0; i < calls && i < window.calls.size(); ++i) {
    const trace_to_fuzz::Call& call = window.calls[i];
    const trace::Record& r = call.record;
    const int actor = call.thread % 4;
    const int t = actor * 1000 + started[actor];
    const std::size_t size = trace_to_fuzz::ModelSize(r.size).value;
    switch (r.op) {
      case Op::kMalloc:
      case Op::kAlignedAlloc:
      case Op::kNew: {
        const std::size_t align =
            trace_to_fuzz::LifecycleAlignment(r.align == 0 ? 16 : r.align)
                .value;
        out.push_back({t, "allocate", nullptr, Id(r.id), 0, size, align});
        known[r.id] = true;
        break;
      }
      case Op::kRealloc:
        if (!known[r.old_id]) {
          out.push_back({t, "allocate", nullptr, Id(r.id), 0, size, 16});
        } else {
          out.push_back({t, "reallocate", Id(r.old_id), Id(r.id), 0, size, 16});
        }
        known[r.id] = true;
        break;
      case Op::kFree:
        if (known[r.id]) out.push_back({t, "free", Id(r.id)});
        break;
      default:
        break;
    }
    if (call.thread_ends) ++started[actor];
  }
  RelabelThreads(out);
  return Canonical(out);
}

void ExpectReplays(std::vector<std::string> actual,
                   const std::vector<std::string>& expected) {
  const std::vector<std::string> tail = Tail(actual, expected.size());
  EXPECT_EQ(actual, expected);
  EXPECT_TRUE(AllFrees(tail)) << ::testing::PrintToString(tail);
}

trace_to_fuzz::Encoded Encode(const trace_to_fuzz::Window& window,
                              std::size_t max_len = 64) {
  return trace_to_fuzz::MakeEncoder("lifecycle")->Encode(window, max_len);
}

// Three threads; the second and third end. Blocks that one call frees are
// each alone in their page (no other live block of their class).
TraceBuilder ThreeThreads() {
  TraceBuilder b;
  std::vector<tb::Rec> main = {tb::Start(0)};
  for (std::uint64_t id = 1; id <= 6; ++id) {
    main.push_back(After(1, tb::Malloc(40, id)));  // A run of six.
  }
  main.push_back(After(1, tb::Malloc(5000, 7)));
  main.push_back(After(1, tb::AlignedAlloc(256, 300, 8)));
  main.push_back(After(100, tb::End()));
  b.Frame(2, {tb::Start(5), After(5, tb::Malloc(1000, 20)),
              After(1, tb::Realloc(20, 3000, 21)), After(1, tb::Free(7)),
              After(1, tb::UsableSize(21))});
  b.Frame(3, {tb::Start(20), After(1, tb::Malloc(96, 30)),
              After(1, tb::Free(8)), After(1, tb::Free(30))});
  b.Frame(1, main);  // Last: nothing may follow its end.
  return b;
}

TEST(TraceToFuzzLifecycleTest, ActorsReplayTheWindowCallForCall) {
  std::string error;
  const auto window = WindowOf(ThreeThreads(), {3, 100, 0}, &error);
  ASSERT_EQ(error, "");
  const auto encoded = Encode(window);
  // All but the usable size; the six allocations in two commands.
  EXPECT_EQ(encoded.encoded, window.calls.size() - 1);
  EXPECT_EQ(encoded.bytes.size(), 60u);
  Accept(encoded.bytes);
  ExpectReplays(Decode(encoded.bytes), Expected(window, window.calls.size()));
}

TEST(TraceToFuzzLifecycleTest, CutsAtTheLastWholeCommandWithinMaxLen) {
  std::string error;
  const auto window = WindowOf(ThreeThreads(), {3, 100, 0}, &error);
  const auto encoded = Encode(window, 20);
  // The source, the run of five, one more 40, malloc(5000).
  EXPECT_EQ(encoded.bytes.size(), 17u);
  EXPECT_EQ(encoded.encoded, 7u);
  Accept(encoded.bytes);
  ExpectReplays(Decode(encoded.bytes), Expected(window, 7));
}

TEST(TraceToFuzzLifecycleTest, WindowsStartAnywhere) {
  std::string error;
  for (std::size_t start = 0; start < 14; ++start) {
    const auto window = WindowOf(ThreeThreads(), {3, 6, start}, &error);
    ASSERT_EQ(error, "");
    const auto encoded = Encode(window);
    Accept(encoded.bytes);
    SCOPED_TRACE("start " + std::to_string(start));
    ExpectReplays(Decode(encoded.bytes),
                  Expected(window, encoded.encoded + encoded.skipped));
  }
}

// The harness frees a block's whole page: a block freed from a page that
// holds others of its class takes them along, which the recording did not.
TEST(TraceToFuzzLifecycleTest, AFreeTakesItsPageMatesAlong) {
  TraceBuilder b;
  b.Frame(1, {tb::Start(), tb::Malloc(64, 1), tb::Malloc(64, 2),
              tb::Malloc(64, 3), tb::Free(2), tb::End()});
  std::string error;
  const auto window = WindowOf(b, {1, 100, 0}, &error);
  const auto encoded = Encode(window);
  EXPECT_EQ(encoded.encoded, 4u);
  Accept(encoded.bytes);
  const std::vector<std::string> actual = Decode(encoded.bytes);
  ASSERT_GE(actual.size(), 6u);
  EXPECT_EQ(actual[3], "t0 free b0.0");  // The first of the page, not b0.1.
}

// Windows of simulated runs, on up to four actors: the harness accepts
// them (their frees may take page-mates along, so no replay is compared).
TEST(TraceToFuzzLifecycleTest, WindowsOfRandomRuns) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const TraceBuilder b = RandomTrace(seed, 4, 900, 1 << 20);
    for (const std::size_t start : {0, 50, 150}) {
      for (const int threads : {1, 2, 4}) {
        std::string error;
        const auto window = WindowOf(b, {threads, 300, start}, &error);
        ASSERT_EQ(error, "");
        const auto encoded = Encode(window);
        EXPECT_GT(encoded.encoded, 3u);
        EXPECT_LE(encoded.bytes.size(), 64u);
        Accept(encoded.bytes);
      }
    }
  }
}

}  // namespace
}  // namespace rusty_malloc::trace_to_fuzz_test

// tools/trace_to_fuzz's inputs for malloc_fuzzer, the C interface's
// harness, compiled in with its calls of the C interface logged
// (trace_to_fuzz_c_api_log.h, included first): the harness runs each input,
// and what it called must be the window's calls, call for call.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "gtest/gtest.h"
#include "tests/trace_builder.h"
#include "tests/trace_to_fuzz_testing.h"
#include "tools/trace_to_fuzz/encoder.h"
#include "tools/trace_to_fuzz/fuzz_bytes.h"

namespace rusty_malloc::trace_to_fuzz_test {
namespace {

using trace::Op;
using trace::testing::TraceBuilder;
namespace tb = trace::testing;

// The harness's entry point, which aborts on anything it refuses, and what
// it called.
std::vector<std::string> RunHarness(const std::vector<std::uint8_t>& bytes) {
  CallLog::Get().Reset(0);
  fuzzing::FuzzInput in(bytes.data(), bytes.size());
  fuzzing::FuzzOne(in);
  return Canonical(WithoutAdmitChecks(CallLog::Get().Take()));
}

// The window's calls as the C interface makes them, on blocks the window
// made; with `explained`, not those the encoder says it skipped (the
// model's budget decides those).
std::vector<std::string> Expected(
    const trace_to_fuzz::Window& window, std::size_t calls,
    const std::vector<std::string>* explained = nullptr) {
  struct Made {
    std::size_t size;
    bool is_new;
  };
  std::map<std::uint64_t, Made> known;
  std::vector<Logged> out;
  auto size_of = [](std::uint64_t size) {
    return trace_to_fuzz::CInterfaceSize(size).value;
  };
  for (std::size_t i = 0; i < calls && i < window.calls.size(); ++i) {
    const trace::Record& r = window.calls[i].record;
    if (explained != nullptr && explained->at(i).ends_with("=> skipped")) {
      continue;
    }
    const auto it = known.find(r.op == Op::kRealloc ? r.old_id : r.id);
    const bool is_known = it != known.end();
    const bool is_new = is_known && it->second.is_new;
    const void* in = is_known ? Id(it->first) : nullptr;
    switch (r.op) {
      case Op::kMalloc:
        out.push_back({0, "malloc", nullptr, Id(r.id), 0, size_of(r.size)});
        known[r.id] = {size_of(r.size), false};
        break;
      case Op::kCalloc:
        out.push_back(
            {0, "calloc", nullptr, Id(r.id), r.count, size_of(r.size)});
        known[r.id] = {r.count * size_of(r.size), false};
        break;
      case Op::kAlignedAlloc: {
        const std::size_t a = trace_to_fuzz::CInterfaceAlign(r.align).value;
        const std::size_t s = size_of(r.size);
        const char* fn = s % a == 0 ? "aligned_alloc"
                         : a >= 8   ? "posix_memalign"
                                    : "memalign";
        out.push_back({0, fn, nullptr, Id(r.id), 0, s, a});
        known[r.id] = {s, false};
        break;
      }
      case Op::kNew: {
        const std::size_t a =
            r.align == 0 ? 16 : trace_to_fuzz::CInterfaceAlign(r.align).value;
        out.push_back({0, "new", nullptr, Id(r.id), 0, size_of(r.size), a});
        known[r.id] = {size_of(r.size), true};
        break;
      }
      case Op::kRealloc:
        if (r.id == 0 && r.size == 0) {
          if (is_known) out.push_back({0, "realloc", in});
          known.erase(r.old_id);
        } else if (r.id != 0) {
          out.push_back({0, "realloc", in, Id(r.id), 0, size_of(r.size)});
          known.erase(r.old_id);
          known[r.id] = {size_of(r.size), false};
        }
        break;
      case Op::kFree:
      case Op::kDelete:
        if (is_known) out.push_back({0, is_new ? "delete" : "free", in});
        known.erase(r.id);
        break;
      case Op::kFreeSized:
      case Op::kDeleteSized:
        if (is_known) {
          out.push_back({0, is_new ? "sized_delete" : "free_sized", in, nullptr,
                         0, it->second.size});
        }
        known.erase(r.id);
        break;
      case Op::kUsableSize:
        if (is_known) out.push_back({0, "usable", in});
        break;
      default:
        break;
    }
  }
  return Canonical(out);
}

void ExpectReplays(std::vector<std::string> actual,
                   const std::vector<std::string>& expected) {
  const std::vector<std::string> tail = Tail(actual, expected.size());
  EXPECT_EQ(actual, expected);
  EXPECT_TRUE(AllFrees(tail)) << ::testing::PrintToString(tail);
}

trace_to_fuzz::Encoded Encode(const trace_to_fuzz::Window& window,
                              std::size_t max_len = 1024) {
  return trace_to_fuzz::MakeEncoder("c_interface")->Encode(window, max_len);
}

// Two threads' every kind of call, merged.
TraceBuilder EveryCall() {
  TraceBuilder b;
  b.Frame(2, {tb::Start(5), After(6, tb::Free(3)),
              After(1, tb::FreeSized(2, 120)), After(1, tb::Delete(6)),
              After(1, tb::DeleteSized(7, 72)), After(1, tb::Realloc(9, 0, 0)),
              After(1, tb::Malloc(300000, 10)), After(1, tb::Free(0)),
              After(1, tb::Free(5)), After(1, tb::Realloc(4, 70001, 11))});
  b.Frame(1, {tb::Start(0), After(1, tb::Malloc(100, 1)),
              After(1, tb::Calloc(3, 40, 2)),
              After(1, tb::AlignedAlloc(256, 1024, 3)),
              After(1, tb::AlignedAlloc(64, 1000, 4)),
              After(1, tb::AlignedAlloc(4, 30, 5)), After(1, tb::New(0, 48, 6)),
              After(1, tb::New(64, 72, 7)), After(1, tb::UsableSize(2)),
              After(1, tb::Realloc(1, 5000, 8)),
              After(1, tb::Realloc(0, 24, 9)), After(20, tb::End())});
  return b;
}

TEST(TraceToFuzzCInterfaceTest, ReplaysEveryCallInOrder) {
  std::string error;
  const auto window = WindowOf(EveryCall(), {2, 100, 0}, &error);
  ASSERT_EQ(error, "");
  const auto encoded = Encode(window);
  EXPECT_EQ(encoded.encoded, window.calls.size() - 1);  // free(nullptr).
  ExpectReplays(RunHarness(encoded.bytes),
                Expected(window, window.calls.size()));
}

TEST(TraceToFuzzCInterfaceTest, WindowsStartAnywhere) {
  std::string error;
  for (std::size_t start = 0; start < 19; ++start) {
    SCOPED_TRACE("start " + std::to_string(start));
    const auto window = WindowOf(EveryCall(), {2, 7, start}, &error);
    ASSERT_EQ(error, "");
    const auto encoded = Encode(window);
    ExpectReplays(RunHarness(encoded.bytes),
                  Expected(window, window.calls.size()));
  }
}

// The model skips what would pass its budget (two 1 MiB blocks leave too
// little work for a third); so does the encoder, and then calls on the
// skipped block.
TEST(TraceToFuzzCInterfaceTest, SkipsWhatTheModelWouldSkip) {
  TraceBuilder b;
  b.Frame(1, {tb::Start(), tb::Malloc(1 << 20, 1), tb::Malloc(1 << 20, 2),
              tb::Malloc(1 << 20, 3), tb::Malloc(100, 4), tb::Free(3),
              tb::Free(1), tb::End()});
  std::string error;
  const auto window = WindowOf(b, {1, 100, 0}, &error);
  const auto encoded = Encode(window);
  EXPECT_EQ(encoded.encoded, 4u);
  EXPECT_EQ(encoded.skipped, 2u);
  ExpectReplays(RunHarness(encoded.bytes),
                {"t0 malloc s1048576 -> b0.0", "t0 malloc s1048576 -> b0.1",
                 "t0 malloc s100 -> b0.2", "t0 free b0.0"});
}

// An input ends where the model's work budget does, or at max_len.
TEST(TraceToFuzzCInterfaceTest, EndsAtTheWorkBudgetOrMaxLen) {
  TraceBuilder b;
  std::vector<tb::Rec> records = {tb::Start()};
  for (std::uint64_t id = 1; id <= 1000; ++id) {
    records.push_back(tb::Malloc(16, id));
    records.push_back(tb::Free(id));
  }
  b.Frame(1, records);
  std::string error;
  const auto window = WindowOf(b, {1, 5000, 0}, &error);
  const auto by_work = Encode(window, 8192);
  EXPECT_EQ(by_work.encoded, 512u);  // Two units of work each.
  ExpectReplays(RunHarness(by_work.bytes), Expected(window, 512));
  const auto by_len = Encode(window);
  EXPECT_EQ(by_len.bytes.size(), 1024u);  // Four bytes each.
  EXPECT_EQ(by_len.encoded, 256u);
  ExpectReplays(RunHarness(by_len.bytes), Expected(window, 256));
}

// Windows of simulated runs, their threads merged.
TEST(TraceToFuzzCInterfaceTest, WindowsOfRandomRuns) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const TraceBuilder b = RandomTrace(seed, 3, 900, 1 << 20);
    for (const std::size_t start : {0, 50, 150}) {
      for (const int threads : {1, 3}) {
        SCOPED_TRACE("seed " + std::to_string(seed) + " start " +
                     std::to_string(start) + " threads " +
                     std::to_string(threads));
        std::string error;
        const auto window = WindowOf(b, {threads, 400, start}, &error);
        ASSERT_EQ(error, "");
        const auto encoded = Encode(window);
        EXPECT_GT(encoded.encoded, 10u);
        ExpectReplays(
            RunHarness(encoded.bytes),
            Expected(window, encoded.explained.size(), &encoded.explained));
      }
    }
  }
}

}  // namespace
}  // namespace rusty_malloc::trace_to_fuzz_test

// tools/trace_to_fuzz's parts apart from any harness: the window of a
// trace it takes, the bytes it writes for sizes, counts and alignments,
// read back by the harnesses' own decoders (fuzz/fuzz_input.h,
// fuzz/c_interface/decode.cc, compiled in), and each encoder's max_len
// against its harness's .options file.

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/c_interface/decode.h"
#include "fuzz/fuzz_input.h"
#include "gtest/gtest.h"
#include "tests/trace_builder.h"
#include "tests/trace_to_fuzz_testing.h"
#include "tools/trace_to_fuzz/encoder.h"
#include "tools/trace_to_fuzz/fuzz_bytes.h"
#include "tools/trace_to_fuzz/window.h"

namespace rusty_malloc::trace_to_fuzz_test {
namespace {

using trace::Op;
using trace::testing::TraceBuilder;
namespace tb = trace::testing;
namespace ttf = trace_to_fuzz;

fuzzing::FuzzInput Input(const ttf::Encoded3& e) {
  return fuzzing::FuzzInput(e.bytes, 3);
}

// Every size up to 70000, then every 4093rd up to 3 MiB, and each power of
// two and its neighbours.
std::vector<std::size_t> Sizes() {
  std::vector<std::size_t> sizes;
  for (std::size_t s = 0; s <= 70000; ++s) sizes.push_back(s);
  for (std::size_t s = 70000; s <= (std::size_t{3} << 20); s += 4093) {
    sizes.push_back(s);
  }
  for (int log = 0; log < 26; ++log) {
    for (const std::size_t s :
         {(std::size_t{1} << log) - 1, std::size_t{1} << log,
          (std::size_t{1} << log) + 1}) {
      sizes.push_back(s);
    }
  }
  return sizes;
}

TEST(TraceToFuzzTest, ModelSizesReadBackAsTheSizeOrJustAbove) {
  const std::size_t largest = std::size_t{0xffff} << 5;
  for (const std::size_t s : Sizes()) {
    const ttf::Encoded3 e = ttf::ModelSize(s);
    fuzzing::FuzzInput in = Input(e);
    ASSERT_EQ(in.Size(), e.value) << s;
    if (s > largest) {
      ASSERT_EQ(e.value, largest) << s;
      continue;
    }
    ASSERT_GE(e.value, s);
    ASSERT_LT(e.value - s, s < 0x10000 ? 1u : s <= 0xffff0u ? 16u : 32u) << s;
  }
}

TEST(TraceToFuzzTest, CInterfaceSizesReadBackAsTheSizeOrJustAbove) {
  const std::size_t largest = (std::size_t{16} << 20) + 32;
  for (const std::size_t s : Sizes()) {
    const ttf::Encoded3 e = ttf::CInterfaceSize(s);
    fuzzing::FuzzInput in = Input(e);
    ASSERT_EQ(fuzzing::c_interface::DecodeSize(in), e.value) << s;
    if (s > largest) {
      ASSERT_EQ(e.value, largest) << s;
      continue;
    }
    ASSERT_GE(e.value, s);
    // Above 255 pages, the next of its edges (1, 4, 8 and 16 MiB).
    const std::size_t slack = s < 0x10000         ? 1
                              : s <= 0xffffu << 2 ? 4
                              : s <= 255u * 4096  ? 4096
                                                  : largest;
    ASSERT_LT(e.value - s, slack) << s;
  }
}

TEST(TraceToFuzzTest, CountsReadBackExactlyUpTo65535) {
  for (std::size_t c = 0; c <= 70000; ++c) {
    const ttf::Encoded3 e = ttf::CInterfaceCount(c);
    fuzzing::FuzzInput in = Input(e);
    ASSERT_EQ(fuzzing::c_interface::DecodeCount(in), e.value);
    ASSERT_EQ(e.value, std::min<std::size_t>(c, 0xffff));
  }
}

TEST(TraceToFuzzTest, AlignmentsReadBackAsThePowerOfTwoAtOrAbove) {
  for (std::size_t a = 0; a <= (std::size_t{1} << 21);
       a = a < 64 ? a + 1 : a * 3 / 2) {
    const ttf::Encoded1 model = ttf::ModelAlignment(a);
    fuzzing::FuzzInput model_in(&model.byte, 1);
    EXPECT_EQ(model_in.Alignment(), model.value);
    const ttf::Encoded1 c = ttf::CInterfaceAlign(a);
    fuzzing::FuzzInput c_in(&c.byte, 1);
    EXPECT_EQ(fuzzing::c_interface::DecodeAlign(c_in), c.value);
    const ttf::Encoded1 life = ttf::LifecycleAlignment(a);
    EXPECT_EQ(std::size_t{1} << (life.byte % 13), life.value);
    for (const auto& [e, most] : {std::pair{model, std::size_t{1} << 16},
                                  std::pair{c, std::size_t{1} << 20},
                                  std::pair{life, std::size_t{4096}}}) {
      EXPECT_EQ(e.value & (e.value - 1), 0u) << a;
      EXPECT_TRUE(e.value >= a || e.value == most) << a;
      EXPECT_TRUE(e.value < 2 * a || e.value == 1 || e.value == most) << a;
    }
  }
}

// Each encoder's max_len is its harness's, as fuzz/<fuzzer>.options sets.
TEST(TraceToFuzzTest, MaxLenIsTheHarnesses) {
  for (const std::string_view name : ttf::HarnessNames()) {
    const auto encoder = ttf::MakeEncoder(name);
    ASSERT_NE(encoder, nullptr);
    EXPECT_EQ(encoder->name(), name);
    std::ifstream options("fuzz/" + std::string(encoder->fuzzer()) +
                          ".options");
    ASSERT_TRUE(options.good()) << encoder->fuzzer();
    std::stringstream text;
    text << options.rdbuf();
    EXPECT_NE(text.str().find(
                  "max_len = " + std::to_string(encoder->max_len()) + "\n"),
              std::string::npos)
        << encoder->fuzzer();
  }
  EXPECT_EQ(ttf::MakeEncoder("raw_malloc"), nullptr);
}

// Threads 1 and 3 start before 2, which only starts; 4 has calls but is
// not among the first two.
TraceBuilder FourThreads() {
  TraceBuilder b;
  b.Frame(3,
          {tb::Start(2), After(2, tb::Malloc(30, 3)), After(10, tb::Free(1))});
  b.Frame(2, {tb::Start(3)});
  b.Frame(4, {tb::Start(9), After(1, tb::Malloc(40, 4))});
  b.Frame(1, {tb::Start(0), After(1, tb::Malloc(10, 1)),
              After(2, tb::Malloc(20, 2)), After(20, tb::End())});
  return b;
}

std::vector<std::string> Lines(const ttf::Window& window) {
  std::vector<std::string> lines;
  for (const ttf::Call& call : window.calls) {
    lines.push_back(ttf::Describe(call) + (call.thread_ends ? " end" : ""));
  }
  return lines;
}

TEST(TraceToFuzzTest, WindowsMergeTheFirstThreadsInTimeOrder) {
  std::string error;
  auto window = WindowOf(FourThreads(), {2, 100, 0}, &error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(window.threads, 2);
  EXPECT_EQ(Lines(window),
            (std::vector<std::string>{"t0 malloc(10) #1", "t0 malloc(20) #2",
                                      "t1 malloc(30) #3", "t1 free(#1) end"}));
  window = WindowOf(FourThreads(), {3, 2, 1}, &error);
  EXPECT_EQ(Lines(window),
            (std::vector<std::string>{"t0 malloc(20) #2", "t1 malloc(30) #3"}));
  window = WindowOf(FourThreads(), {3, 100, 3}, &error);
  EXPECT_EQ(Lines(window), (std::vector<std::string>{"t2 malloc(40) #4 end",
                                                     "t1 free(#1) end"}));
}

TEST(TraceToFuzzTest, WindowsStartAtAShareOrAThread) {
  std::string error;
  ttf::WindowOptions options = {3, 2, 0};
  options.start_percent = 60;  // Of five calls: the fourth.
  EXPECT_EQ(
      Lines(WindowOf(FourThreads(), options, &error)),
      (std::vector<std::string>{"t2 malloc(40) #4 end", "t1 free(#1) end"}));
  options.start_percent = -1;
  options.start_thread = 1;
  EXPECT_EQ(
      Lines(WindowOf(FourThreads(), options, &error)),
      (std::vector<std::string>{"t1 malloc(30) #3", "t2 malloc(40) #4 end"}));
  options.start_thread = 3;
  EXPECT_TRUE(WindowOf(FourThreads(), options, &error).calls.empty());
  EXPECT_EQ(error, "a start at thread 3 needs --threads above it");
}

TEST(TraceToFuzzTest, WindowsOutOfRangeAreRefused) {
  std::string error;
  EXPECT_TRUE(WindowOf(FourThreads(), {4, 1, 0}, &error).calls.empty());
  EXPECT_EQ(error, "the trace has 3 threads that call the allocator, not 4");
  EXPECT_TRUE(WindowOf(FourThreads(), {1, 5, 2}, &error).calls.empty());
  EXPECT_EQ(error, "--start=2 is past the 2 calls of those threads");
  EXPECT_TRUE(WindowOf(FourThreads(), {1, 0, 0}, &error).calls.empty());
  EXPECT_EQ(error, "--threads and --records must be at least 1");
}

// A trace cut short ends no thread.
TEST(TraceToFuzzTest, AnIncompleteTraceEndsNoThread) {
  TraceBuilder b;
  b.Frame(2, {tb::Start(1), After(1, tb::Malloc(8, 2))});
  b.Frame(1, {tb::Start(0), After(1, tb::Malloc(8, 1))});
  std::string error;
  const auto window = WindowOf(b, {2, 100, 0}, &error);
  EXPECT_EQ(Lines(window),
            (std::vector<std::string>{"t0 malloc(8) #1", "t1 malloc(8) #2"}));
}

// Every encoder makes nothing of a window whose calls it cannot make, and
// each input starts with its mode or source byte.
TEST(TraceToFuzzTest, NothingToMakeMakesAnEmptyInput) {
  TraceBuilder b;
  b.Frame(1, {tb::Start(), tb::Malloc(10, 1), tb::Free(0), tb::Free(1),
              tb::Malloc(std::uint64_t{1} << 50, 0), tb::End()});
  std::string error;
  const auto window = WindowOf(b, {1, 100, 2}, &error);
  ASSERT_EQ(window.calls.size(), 2u);
  for (const std::string_view name : ttf::HarnessNames()) {
    const ttf::Encoded e = ttf::MakeEncoder(name)->Encode(window, 100);
    EXPECT_EQ(e.encoded, 0u) << name;
    EXPECT_EQ(e.skipped, 2u) << name;
    EXPECT_LE(e.bytes.size(), 1u) << name;
  }
}

}  // namespace
}  // namespace rusty_malloc::trace_to_fuzz_test

// The recorder linked in, on addresses it is told about (no heap behind
// them), read back with the trace reader. Records only from threads it
// starts: the recorder keeps one buffer per thread for the whole process,
// so the test's main thread must not record for two recorders.

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "allocator/trace/recorder.h"
#include "allocator/trace/trace_reader.h"
#include "gtest/gtest.h"

namespace rusty_malloc::trace {
namespace {

void* Address(std::uint64_t thread, std::uint64_t i) {
  return reinterpret_cast<void*>(((thread + 1) << 32) | (i * 16 + 16));
}

std::string TempPath(const char* name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  unlink(path.c_str());
  return path;
}

// Threads that each allocate `per_thread` blocks, then threads that free
// every block of another (cross-thread frees, and thread exits between):
// every record of every thread arrives, in order, with the ids it had.
TEST(TraceRecorderTest, RecordsEveryThreadInOrder) {
  static Recorder recorder;
  const std::string path = TempPath("every_thread.trace");
  ASSERT_TRUE(recorder.Start(path.c_str(), ForkMode::kStop));
  constexpr int kThreads = 4;
  constexpr std::uint64_t kPerThread = 20000;  // Several frames each.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (std::uint64_t i = 0; i < kPerThread; ++i) {
        recorder.Allocated(i % 2 == 0 ? Op::kMalloc : Op::kNew, 0, i + 1,
                           Address(t, i));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      const int other = (t + 1) % kThreads;
      for (std::uint64_t i = 0; i < kPerThread; ++i) {
        if (i % 3 == 0) recorder.UsableSize(Address(other, i));
        recorder.Freeing(i % 2 == 0 ? Op::kFree : Op::kDeleteSized,
                         Address(other, i), i + 1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  recorder.Finish();

  Trace trace;
  std::string error;
  ASSERT_TRUE(ReadTraceFile(path.c_str(), &trace, &error)) << error;
  EXPECT_TRUE(trace.complete);
  EXPECT_EQ(trace.dropped_records, 0u);
  EXPECT_EQ(trace.max_id, kThreads * kPerThread);
  // Eight recording threads and the one that finished it.
  ASSERT_EQ(trace.threads.size(), 2u * kThreads + 1);
  std::size_t allocations = 0, frees = 0;
  for (const ThreadRecords& thread : trace.threads) {
    ASSERT_EQ(thread.records.front().op, Op::kThreadStart);
    std::uint64_t size = 0;
    for (const Record& r : thread.records) {
      if (Allocates(r)) {
        ++allocations;
        EXPECT_EQ(r.size, ++size);  // In program order.
      }
      if (FreedId(r) != 0) ++frees;
    }
  }
  EXPECT_EQ(allocations, kThreads * kPerThread);
  EXPECT_EQ(frees, kThreads * kPerThread);
}

// Finish while threads still record, hand blocks to each other and exit:
// what was written is a consistent trace (no free of a block whose
// allocation was lost, nothing after the end record).
TEST(TraceRecorderTest, FinishBesideRecordingThreads) {
  static Recorder recorder;
  const std::string path = TempPath("finish_beside.trace");
  ASSERT_TRUE(recorder.Start(path.c_str(), ForkMode::kStop));
  constexpr int kThreads = 4;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> handed[kThreads] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        // Allocate, hand to the next thread, free what the previous handed.
        void* mine = Address(t, i % 100000);
        recorder.Allocated(Op::kMalloc, 0, 64, mine);
        const std::uint64_t previous =
            handed[(t + kThreads - 1) % kThreads].exchange(0);
        if (previous != 0) {
          recorder.Freeing(Op::kFree, reinterpret_cast<void*>(previous), 0);
        }
        const std::uint64_t left =
            handed[t].exchange(reinterpret_cast<std::uint64_t>(mine));
        if (left != 0) {
          recorder.Freeing(Op::kFree, reinterpret_cast<void*>(left), 0);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  recorder.Finish();
  stop.store(true);
  for (auto& thread : threads) thread.join();

  Trace trace;
  std::string error;
  ASSERT_TRUE(ReadTraceFile(path.c_str(), &trace, &error)) << error;
  EXPECT_TRUE(trace.complete);
  EXPECT_GT(trace.max_id, 0u);
}

TEST(TraceRecorderTest, RefusesAPathItCannotCreate) {
  static Recorder recorder;
  EXPECT_FALSE(recorder.Start("/nonexistent-dir/x.trace", ForkMode::kStop));
  EXPECT_FALSE(recorder.on());
}

}  // namespace
}  // namespace rusty_malloc::trace

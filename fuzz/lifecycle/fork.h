// Part of per_thread_lifecycle_fuzzer: fork() with threads alive, and the
// forked child's checks. Apart because it runs rarely (its own budget,
// kInputsPerFork) and only over a chunk source with fork handlers.

#ifndef RUSTY_MALLOC_FUZZ_LIFECYCLE_FORK_H_
#define RUSTY_MALLOC_FUZZ_LIFECYCLE_FORK_H_

#include <errno.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/per_thread/size_classes.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/lifecycle/bounds.h"
#include "fuzz/lifecycle/lifecycle.h"
#include "testing/no_coverage.h"
#include "testing/patterns.h"

namespace rusty_malloc::fuzzing::lifecycle {

// What an actor allocates and frees, over and over, while another forks.
constexpr int kChurnBlocks = 16;
constexpr std::size_t kChurnSize = 1024;

// fork() copies the page tables of a process with a sanitizer's shadow
// (milliseconds): at most one input in kInputsPerFork forks, counted from
// the start of the process, so that a replayed input forks when a fuzzing
// run skipped it. Skipping changes nothing in the parent's heap.
constexpr std::uint64_t kInputsPerFork = 32;
inline std::uint64_t inputs_run = 0;
inline std::uint64_t forks_run = 0;

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // Loops over thousands of blocks.

// fork() while actors are alive (and one of them allocating and freeing
// its own blocks), over the mmap chunk source: the child, holding every lock
// the parent's atfork handlers took in a consistent state, frees some
// inherited blocks (into heaps whose threads it does not have), allocates and
// checks its own, and Verify()s; its exit status says whether all held.
template <typename Heap>
void Lifecycle<Heap>::Fork(FuzzInput& in, int a) {
  const std::size_t child_count = 1 + in.Byte() * 4;
  const std::size_t child_size = ClassSize(in.Byte() % kSizeClasses);
  const std::size_t inherited = in.Byte() % 16;
  const bool busy_actor = in.Byte() % 2 == 0;
  // The drop-in's source has fork handlers; the grower source has none,
  // so PerThreadMalloc's do not compile over it.
  if constexpr (!requires { heap_.source().LockForFork(); }) {
    return;
  } else {
    if (forks_run * kInputsPerFork > inputs_run) return;
    ++forks_run;
    ForkNow(a, busy_actor, inherited, child_count, child_size);
  }
}

template <typename Heap>
void Lifecycle<Heap>::ForkNow(int a, bool busy_actor, std::size_t inherited,
                              std::size_t child_count, std::size_t child_size) {
  std::atomic<bool> stop{false};
  if (busy_actor) {
    ExpectChunksFor(kChurnBlocks * kChurnSize);
    // Nothing here calls the process's malloc: the sanitizer's allocator
    // takes no lock across fork() (LLVM 14), and the child uses it.
    Get(a).Start([&] {
      std::uint64_t id = std::uint64_t{3} << 40;
      while (!stop.load(std::memory_order_relaxed)) {
        Live held[kChurnBlocks];
        int n = 0;
        for (; n < kChurnBlocks; ++n) {
          void* p = heap_.Allocate(kChurnSize);
          if (p == nullptr) break;
          held[n] = {p, kChurnSize, id++};
          testing::FillPattern(p, kChurnSize, held[n].id, kPatternStride);
        }
        for (int i = 0; i < n; ++i) CheckAndFree(held[i]);
      }
    });
  }
  heap_.LockForFork();
  const pid_t pid = fork();
  if (pid == 0) {
    heap_.UnlockAfterForkInChild();
    ChildWork(inherited, child_count, child_size);
    _exit(0);
  }
  heap_.UnlockAfterFork();
  stop.store(true);
  if (busy_actor) Get(a).Wait();
  if (pid < 0) return;  // Out of processes: nothing to check.
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) Require("waitpid failed");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Require("forked child's heap check failed (status " +
            std::to_string(status) + ")");
  }
}

// In the forked child, on its only thread.
template <typename Heap>
void Lifecycle<Heap>::ChildWork(std::size_t inherited, std::size_t count,
                                std::size_t size) {
  for (std::size_t i = 0; i < inherited && !live_.empty(); ++i) {
    CheckAndFree(live_.back());
    live_.pop_back();
  }
  max_live_bytes_ = live_bytes_ + kMaxLiveBytesChild;
  const std::vector<Live> made = AllocateLoose(count, size, 0);
  for (const Live& l : live_) {
    if (testing::FirstPatternMismatch(l.ptr, l.size, l.id, kPatternStride) !=
        l.size) {
      Require("inherited block damaged in the forked child");
    }
  }
  for (const Live& l : made) CheckAndFree(l);
  const HeapReport report = heap_.Verify();
  if (!report.ok()) Require("Verify in the forked child: " + report.ToString());
}

RUSTY_MALLOC_NO_COVERAGE_END

}  // namespace rusty_malloc::fuzzing::lifecycle

#endif  // RUSTY_MALLOC_FUZZ_LIFECYCLE_FORK_H_

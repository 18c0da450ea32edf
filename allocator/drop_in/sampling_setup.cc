// Turns the drop-in's sampler on as the options say, once they are read
// (runtime_options.cc reads them at constructor priority 101): the guarded
// pool sized and placed and its fault handler installed, the heap profile
// enabled and written at exit, then sampling started. Before this, and for
// the locked and break variants, which have no sampler, nothing is sampled.

#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "allocator/common/log_line.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/drop_in/global_heap.h"
#include "allocator/drop_in/malloc.h"
#include "allocator/drop_in/runtime_options.h"
#include "allocator/drop_in/stats_format.h"
#include "allocator/guarded/fault_handler.h"
#include "allocator/profile/gperftools_writer.h"
#include "allocator/sampling/sampler_stats.h"

namespace rusty_malloc {
namespace {

// Templates, so that the heaps without a sampler compile the calls away.
template <typename Heap>
bool DumpProfile(Heap& heap, const char* path, ProfileView view) {
  if constexpr (requires { heap.sampler(); }) {
    return heap.sampler().profiling() &&
           WriteHeapProfileToPath(path, heap.sampler().profile(), view);
  }
  return false;
}

// A template too: only a heap with a sampler instantiates it.
template <typename Heap>
void DumpProfileAtExit() {
  const char* path = TheDropInOptions().heap_profile_path;
  // The option's parser left room for the suffix.
  char peak[kMaxProfilePath];
  std::strcpy(peak, path);
  std::strcat(peak, ".peak");
  if (!DumpProfile(TheGlobalHeap(), path, ProfileView::kLive) ||
      !DumpProfile(TheGlobalHeap(), peak, ProfileView::kPeak)) {
    LogLine("cannot write the heap profile to %.512s", path);
  }
}

// The signal's dumps: PATH.0001 and on, written by the handler itself
// when no thread holds the profile's lock. A thread that does (the one the
// signal interrupted, say) is inside a sample's few microseconds of
// bookkeeping, so the handler tries for a while before it gives up and
// says so.
template <typename Heap>
void DumpProfileOnSignal(int) {
  const int saved_errno = errno;
  static std::atomic<unsigned> dumps{0};
  const unsigned n = dumps.fetch_add(1, std::memory_order_relaxed) + 1;
  char path[kMaxProfilePath + 16];
  const char* base = TheDropInOptions().heap_profile_path;
  std::size_t at = 0;
  while (base[at] != '\0') {
    path[at] = base[at];
    ++at;
  }
  path[at++] = '.';
  for (unsigned digit = 1000; digit > 0; digit /= 10) {
    path[at++] = static_cast<char>('0' + (n / digit) % 10);
  }
  path[at] = '\0';
  IdleWrite result = IdleWrite::kBusy;
  for (int attempt = 0; attempt < 1000 && result == IdleWrite::kBusy;
       ++attempt) {
    result = WriteHeapProfileToPathIfIdle(
        path, static_cast<Heap&>(TheGlobalHeap()).sampler().profile(),
        ProfileView::kLive);
    if (result == IdleWrite::kBusy) sched_yield();
  }
  if (result != IdleWrite::kWritten) {
    LogLine(result == IdleWrite::kBusy
                ? "heap profile %.512s not written: the profile stayed busy"
                : "cannot write the heap profile to %.512s",
            path);
  }
  errno = saved_errno;
}

// RUSTY_MALLOC_STATS's sampler line, at exit: what sampling cost, against
// the process's CPU time.
template <typename Heap>
void WriteSamplerStatsAtExit() {
  const auto cpu_ns =
      static_cast<std::uint64_t>(ClockNs(CLOCK_PROCESS_CPUTIME_ID));
  const SamplerStats stats =
      static_cast<Heap&>(TheGlobalHeap()).sampler().Stats();
  char text[256];
  const int length =
      TheDropInOptions().stats_at_exit == StatsFormat::kJson
          ? FormatSamplerStatsJson(stats, cpu_ns, text, sizeof(text))
          : FormatSamplerStatsText(stats, cpu_ns, text, sizeof(text));
  if (length <= 0) return;
  WriteToStderr(text,
                std::min(static_cast<std::size_t>(length), sizeof(text) - 1));
}

template <typename Heap>
void CatchDumpSignal(int signal) {
  struct sigaction action = {};
  action.sa_handler = DumpProfileOnSignal<Heap>;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (sigaction(signal, &action, nullptr) != 0) {
    LogLine("cannot catch signal %d to write the heap profile", signal);
  }
}

template <typename Heap>
void StartSampling(Heap& heap, const DropInOptions& options) {
  if constexpr (requires { heap.sampler(); }) {
    const bool profile = options.heap_profile_path[0] != '\0';
    if (options.sample_bytes == 0 || (options.guarded_every == 0 && !profile)) {
      return;
    }
    Sampler& sampler = heap.sampler();
    std::uint32_t guarded_every = options.guarded_every;
    if (guarded_every != 0) {
      sampler.ResizePool(options.guarded_slots, options.guarded_placement);
      // A fault in a guarded block without the handler would still kill the
      // process, with no report: not worth it then.
      if (!InstallGuardedFaultHandler(&sampler.pool())) {
        LogLine("guarded sampling off: cannot install the fault handler");
        guarded_every = 0;
      }
    }
    if (profile) {
      sampler.EnableProfile();
      if (std::atexit(DumpProfileAtExit<Heap>) != 0) {
        LogLine("the heap profile will not be written: atexit failed");
      }
      if (options.heap_profile_signal != 0) {
        CatchDumpSignal<Heap>(static_cast<int>(options.heap_profile_signal));
      }
    }
    if (guarded_every != 0 || profile) {
      sampler.Configure(options.sample_bytes, guarded_every,
                        options.pacing_share);
      if (options.stats_at_exit != StatsFormat::kNone &&
          std::atexit(WriteSamplerStatsAtExit<Heap>) != 0) {
        LogLine("the sampler's stats will not be written: atexit failed");
      }
    }
  }
}

__attribute__((constructor(102))) void StartSamplingAtLoad() {
  StartSampling(TheGlobalHeap(), TheDropInOptions());
}

}  // namespace
}  // namespace rusty_malloc

int rusty_malloc_dump_heap_profile(const char* path) {
  using rusty_malloc::ProfileView;
  if (path == nullptr) return -1;
  return rusty_malloc::DumpProfile(rusty_malloc::TheGlobalHeap(), path,
                                   ProfileView::kLive)
             ? 0
             : -1;
}

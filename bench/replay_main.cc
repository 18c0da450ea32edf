// replay: runs an allocation trace on an allocator and reports its time and
// memory (bench/replay.h says how). Usage: Usage() below.

#include <dlfcn.h>
#include <malloc.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "allocator/trace/trace_reader.h"
#include "bench/replay.h"
#include "bench/replay_allocator.h"

namespace rusty_malloc::replay {
namespace {

void Usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: replay [--allocator=NAME] [--repeat=N] [--json] TRACE\n"
      "Replays an allocation trace (allocator/trace/trace_format.h) with one\n"
      "thread per recorded thread, and checks a pattern in every block.\n"
      "  --allocator=NAME  system (the default): the process's malloc and\n"
      "                    operator new, which LD_PRELOAD picks; or one of\n"
      "                    this project's heaps as a local instance:\n"
      "                    per_thread, locked, raw_mmap or raw_brk.\n"
      "  --repeat=N        replays N times in this process, each time on a\n"
      "                    fresh heap, and reports every run (default 1).\n"
      "  --json            reports each run as a JSON object on one line.\n"
      "A run's report: threads, records, calls (records that call the\n"
      "allocator), seconds (from the threads' release to the last join),\n"
      "ops_per_second (calls a second), peak_rss_kib and peak_vm_kib (the\n"
      "process's peaks over the runs so far), resident_before_kib and\n"
      "replay_peak_added_kib (resident memory at the release, and the most\n"
      "the replay added to it: the replayed heap's peak, without the trace\n"
      "the replayer holds), pattern_errors, failed_allocations and\n"
      "usable_size_errors.\n"
      "Exit status: 0 ok; 1 pattern or allocation errors; 2 a bad argument\n"
      "or trace; 3 the threads waited on each other for %d s (the trace\n"
      "cannot be replayed).\n",
      kWatchdogSeconds);
}

struct Options {
  std::string allocator = "system";
  long repeat = 1;
  bool json = false;
  const char* trace = nullptr;
};

// False for arguments that do not match Usage().
bool ParseArguments(int argc, char** argv, Options* options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--allocator=")) {
      options->allocator = arg.substr(std::strlen("--allocator="));
    } else if (arg.starts_with("--repeat=")) {
      char* end = nullptr;
      const char* value = argv[i] + std::strlen("--repeat=");
      options->repeat = std::strtol(value, &end, 10);
      if (*value == '\0' || *end != '\0' || options->repeat < 1) return false;
    } else if (arg == "--json") {
      options->json = true;
    } else if (arg.starts_with("-") || options->trace != nullptr) {
      return false;
    } else {
      options->trace = argv[i];
    }
  }
  return options->trace != nullptr;
}

// The process's peak address space, VmPeak in KiB; 0 if unknown.
long PeakVirtualKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmPeak:")) {
      return std::strtol(line.c_str() + std::strlen("VmPeak:"), nullptr, 10);
    }
  }
  return 0;
}

// The process's peak resident memory, in KiB.
long PeakResidentKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void Report(const Options& options, const Plan& plan, const Result& result,
            long run) {
  const double per_second =
      result.seconds > 0 ? static_cast<double>(plan.calls) / result.seconds : 0;
  const char* format =
      options.json
          ? "{\"allocator\":\"%s\",\"run\":%ld,\"threads\":%zu,"
            "\"records\":%zu,\"calls\":%zu,\"seconds\":%.6f,"
            "\"ops_per_second\":%.0f,\"peak_rss_kib\":%ld,"
            "\"peak_vm_kib\":%ld,\"resident_before_kib\":%ld,"
            "\"replay_peak_added_kib\":%ld,\"pattern_errors\":%zu,"
            "\"failed_allocations\":%zu,\"usable_size_errors\":%zu}\n"
          : "allocator=%s run=%ld threads=%zu records=%zu calls=%zu "
            "seconds=%.6f ops_per_second=%.0f peak_rss_kib=%ld "
            "peak_vm_kib=%ld resident_before_kib=%ld replay_peak_added_kib=%ld "
            "pattern_errors=%zu failed_allocations=%zu "
            "usable_size_errors=%zu\n";
  std::printf(format, options.allocator.c_str(), run, result.threads,
              plan.records, plan.calls, result.seconds, per_second,
              PeakResidentKib(), PeakVirtualKib(), result.resident_before_kib,
              result.replay_peak_added_kib, result.pattern_errors,
              result.failed_allocations, result.usable_size_errors);
  std::fflush(stdout);
}

// Has the process's allocator give its free memory back to the OS, by
// whichever call it has (glibc's and this project's malloc_trim, jemalloc's
// mallctl purge, tcmalloc's and mimalloc's own), so that what reading the
// trace freed does not sit in one allocator's cache and not another's when
// a run's resident memory is measured.
void ReleaseFreeMemory() {
  using Mallctl = int (*)(const char*, void*, std::size_t*, void*, std::size_t);
  if (auto mallctl =
          reinterpret_cast<Mallctl>(dlsym(RTLD_DEFAULT, "mallctl"))) {
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);  // Every arena.
  }
  if (auto release = reinterpret_cast<void (*)()>(
          dlsym(RTLD_DEFAULT, "MallocExtension_ReleaseFreeMemory"))) {
    release();
  }
  if (auto collect =
          reinterpret_cast<void (*)(bool)>(dlsym(RTLD_DEFAULT, "mi_collect"))) {
    collect(true);
  }
  malloc_trim(0);
}

// What the reader left out of an incomplete trace.
void ReportIncomplete(const trace::Trace& trace) {
  if (trace.complete && trace.dropped_records == 0) return;
  std::fprintf(stderr,
               "replay: %s: %zu records dropped (their blocks were never "
               "allocated in the file), %zu bytes of a cut frame ignored\n",
               trace.complete ? "complete trace" : "incomplete trace (no end)",
               trace.dropped_records, trace.ignored_tail_bytes);
}

int Main(int argc, char** argv) {
  Options options;
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 ||
                    std::strcmp(argv[1], "-h") == 0)) {
    Usage(stdout);
    return 0;
  }
  if (!ParseArguments(argc, argv, &options)) {
    Usage(stderr);
    return 2;
  }
  if (MakeAllocator(options.allocator) == nullptr) {
    std::fprintf(stderr, "replay: unknown allocator %s (one of %s)\n",
                 options.allocator.c_str(),
                 std::string(kAllocatorNames).c_str());
    return 2;
  }
  trace::Trace trace;
  Plan plan;
  std::string error;
  if (!trace::ReadTraceFile(options.trace, &trace, &error)) {
    std::fprintf(stderr, "replay: %s\n", error.c_str());
    return 2;
  }
  if (!MakePlan(trace, &plan, &error)) {
    std::fprintf(stderr, "replay: %s: %s\n", options.trace, error.c_str());
    return 2;
  }
  ReportIncomplete(trace);
  int status = 0;
  for (long run = 1; run <= options.repeat; ++run) {
    Result result;
    ReleaseFreeMemory();
    {
      const auto allocator = MakeAllocator(options.allocator);
      result = Replay(trace, plan, *allocator);
    }
    Report(options, plan, result, run);
    if (result.errors() != 0) status = 1;
  }
  return status;
}

}  // namespace
}  // namespace rusty_malloc::replay

int main(int argc, char** argv) {
  return rusty_malloc::replay::Main(argc, argv);
}

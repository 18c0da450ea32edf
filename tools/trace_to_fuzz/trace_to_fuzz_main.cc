// trace_to_fuzz: turns a window of an allocation trace into an input for a
// model harness (encoder.h). Usage: Usage() below.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "allocator/trace/trace_reader.h"
#include "tools/trace_to_fuzz/encoder.h"
#include "tools/trace_to_fuzz/window.h"

namespace rusty_malloc::trace_to_fuzz {
namespace {

void Usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: trace_to_fuzz --harness=NAME --threads=N --records=M\n"
      "                     [--start=K|P%%|tT] [--max_len=BYTES] [--explain]\n"
      "                     TRACE OUT_FILE\n"
      "Writes one fuzz input for a model harness, in its input format, made\n"
      "from a window of an allocation trace (RUSTY_MALLOC_TRACE): the calls\n"
      "of the first N threads to start that call the allocator, merged in\n"
      "time order, from the K-th (default 0) on, at most M of them, cut at\n"
      "the last whole operation within BYTES (for per_thread's streams,\n"
      "each thread's within its quarter). --start=P%% starts P percent\n"
      "of the way into those calls, --start=tT at the first call of the\n"
      "T-th of those threads (from 0).\n"
      "  --harness=NAME   per_thread    fuzz/per_thread_malloc_fuzzer (one\n"
      "                                 thread: the model; more: the\n"
      "                                 concurrent streams, threads mod 4)\n"
      "                   lifecycle     fuzz/per_thread_lifecycle_fuzzer\n"
      "                                 (threads as actors, mod 4)\n"
      "                   c_interface   fuzz/malloc_fuzzer (threads merged)\n"
      "  --max_len=BYTES  default: the harness's max_len (256, 64, 1024), as\n"
      "                   its fuzz/<fuzzer>.options sets.\n"
      "  --explain        prints each call before the cut, and what the\n"
      "                   input makes of it (or that it skips it).\n"
      "Blocks are named by their slot in the harness's list of live blocks;\n"
      "calls the harness has no operation for, or on blocks allocated\n"
      "before the window, are skipped. Prints what it wrote.\n"
      "Exit status: 0 written; 1 the window made an empty input; 2 a bad\n"
      "argument, trace or output file.\n");
}

struct Options {
  std::string harness;
  WindowOptions window;
  std::size_t max_len = 0;  // 0: the harness's.
  bool explain = false;
  const char* trace = nullptr;
  const char* out = nullptr;
};

bool Number(std::string_view arg, std::string_view flag, std::size_t* value) {
  if (!arg.starts_with(flag)) return false;
  const std::string digits(arg.substr(flag.size()));
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || errno != 0 || digits[0] == '-') {
    return false;
  }
  *value = static_cast<std::size_t>(v);
  return true;
}

bool ParseArguments(int argc, char** argv, Options* o) {
  bool have_threads = false;
  bool have_records = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::size_t value = 0;
    if (arg.starts_with("--harness=")) {
      o->harness = arg.substr(std::strlen("--harness="));
    } else if (Number(arg, "--threads=", &value)) {
      if (value < 1 || value > 1024) return false;
      o->window.threads = static_cast<int>(value);
      have_threads = true;
    } else if (Number(arg, "--records=", &value)) {
      o->window.records = value;
      have_records = value > 0;
    } else if (arg.starts_with("--start=t")) {
      if (!Number(arg.substr(std::strlen("--start=t")), "", &value) ||
          value > 1024) {
        return false;
      }
      o->window.start_thread = static_cast<int>(value);
    } else if (arg.starts_with("--start=") && arg.ends_with("%")) {
      if (!Number(arg.substr(0, arg.size() - 1), "--start=", &value) ||
          value > 99) {
        return false;
      }
      o->window.start_percent = static_cast<int>(value);
    } else if (Number(arg, "--start=", &value)) {
      o->window.start = value;
    } else if (Number(arg, "--max_len=", &value)) {
      if (value < 1) return false;
      o->max_len = value;
    } else if (arg == "--explain") {
      o->explain = true;
    } else if (arg.starts_with("-")) {
      return false;
    } else if (o->trace == nullptr) {
      o->trace = argv[i];
    } else if (o->out == nullptr) {
      o->out = argv[i];
    } else {
      return false;
    }
  }
  return have_threads && have_records && !o->harness.empty() &&
         o->out != nullptr;
}

int Main(int argc, char** argv) {
  Options options;
  if (argc == 2 && std::strcmp(argv[1], "--help") == 0) {
    Usage(stdout);
    return 0;
  }
  if (!ParseArguments(argc, argv, &options)) {
    Usage(stderr);
    return 2;
  }
  const std::unique_ptr<Encoder> encoder = MakeEncoder(options.harness);
  if (encoder == nullptr) {
    std::fprintf(stderr, "trace_to_fuzz: no harness %s\n",
                 options.harness.c_str());
    Usage(stderr);
    return 2;
  }
  trace::Trace trace;
  std::string error;
  if (!trace::ReadTraceFile(options.trace, &trace, &error)) {
    std::fprintf(stderr, "trace_to_fuzz: %s\n", error.c_str());
    return 2;
  }
  Window window;
  if (!SelectWindow(trace, options.window, &window, &error)) {
    std::fprintf(stderr, "trace_to_fuzz: %s\n", error.c_str());
    return 2;
  }
  const std::size_t max_len =
      options.max_len != 0 ? options.max_len : encoder->max_len();
  const Encoded encoded = encoder->Encode(window, max_len);
  if (options.explain) {
    for (const std::string& line : encoded.explained) {
      std::printf("%s\n", line.c_str());
    }
  }
  std::printf(
      "%s: %zu bytes for %s: %zu of the window's %zu calls made, %zu "
      "skipped, %zu past the cut\n",
      options.out, encoded.bytes.size(), options.harness.c_str(),
      encoded.encoded, window.calls.size(), encoded.skipped,
      window.calls.size() - encoded.encoded - encoded.skipped);
  if (encoded.encoded == 0) {
    std::fprintf(stderr, "trace_to_fuzz: the window makes no call\n");
    return 1;
  }
  std::FILE* out = std::fopen(options.out, "wb");
  if (out == nullptr ||
      std::fwrite(encoded.bytes.data(), 1, encoded.bytes.size(), out) !=
          encoded.bytes.size() ||
      std::fclose(out) != 0) {
    std::fprintf(stderr, "trace_to_fuzz: cannot write %s: %s\n", options.out,
                 std::strerror(errno));
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace rusty_malloc::trace_to_fuzz

int main(int argc, char** argv) {
  return rusty_malloc::trace_to_fuzz::Main(argc, argv);
}

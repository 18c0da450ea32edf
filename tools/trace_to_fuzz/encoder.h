#ifndef RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_ENCODER_H_
#define RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_ENCODER_H_

// Turns a window of a trace (window.h) into one input for a model harness,
// in that harness's input format, so that fuzzing starts from the shapes
// real programs make. One encoder per harness:
//
//   per_thread    fuzz/per_thread_malloc_fuzzer.cc: one thread against
//                 HeapModel (fuzz/model_ops.h) for a one-thread window,
//                 else the concurrent streams (fuzz/concurrent_harness.h)
//   lifecycle     fuzz/per_thread_lifecycle_fuzzer.cc (fuzz/lifecycle/)
//   c_interface   fuzz/malloc_fuzzer.cc (fuzz/c_interface/)
//
// Each keeps a copy of its harness's live blocks, in the harness's order,
// so that a call on a recorded block names the slot the harness will hold
// it in. A call the harness has no operation for, or on a block the input
// cannot reach (allocated before the window, or out of the harness's
// reach), is skipped; the input ends before the first call that would not
// fit in `max_len` bytes (per_thread's streams: each thread's calls end
// before the first that would not fit in its quarter).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tools/trace_to_fuzz/window.h"

namespace rusty_malloc::trace_to_fuzz {

struct Encoded {
  std::vector<std::uint8_t> bytes;
  std::size_t encoded = 0;  // The window's calls the input makes.
  std::size_t skipped = 0;  // Those before the cut that it cannot make.
  // What the input makes of each call it encodes, a line each, for
  // --explain.
  std::vector<std::string> explained;
};

class Encoder {
 public:
  virtual ~Encoder() = default;

  // The harness, as --harness names it.
  virtual std::string_view name() const = 0;
  // Its fuzzer's name: fuzz/corpus/<fuzzer>/ holds its corpus.
  virtual std::string_view fuzzer() const = 0;
  // The max_len of its fuzz/<fuzzer>.options.
  virtual std::size_t max_len() const = 0;

  virtual Encoded Encode(const Window& window, std::size_t max_len) const = 0;
};

// The encoder for `harness` (per_thread, lifecycle or c_interface), or
// nullptr.
std::unique_ptr<Encoder> MakeEncoder(std::string_view harness);

// The names MakeEncoder takes.
const std::vector<std::string_view>& HarnessNames();

// One line for --explain: the call as recorded.
std::string Describe(const Call& call);

}  // namespace rusty_malloc::trace_to_fuzz

#endif  // RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_ENCODER_H_

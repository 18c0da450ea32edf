#ifndef RUSTY_MALLOC_TESTS_TRACE_TO_FUZZ_TESTING_H_
#define RUSTY_MALLOC_TESTS_TRACE_TO_FUZZ_TESTING_H_

// What the tests of tools/trace_to_fuzz share: a window of a trace built
// in memory, the calls a harness makes (logged by a wrapper around its
// heap or its C interface as its own decoder drives it), and both written
// as canonical lines, so a test compares what the harness did with what the
// trace recorded, call for call.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "allocator/trace/trace_reader.h"
#include "tests/trace_builder.h"
#include "tools/trace_to_fuzz/window.h"

namespace rusty_malloc::trace_to_fuzz_test {

// One call: a harness's, with its pointers, or one a window asks for, with
// trace ids for pointers (ids are never reused; pointers are, after a
// free). `in` is the block freed, used or resized, `out` the block made.
struct Logged {
  int thread = 0;
  std::string fn;
  const void* in = nullptr;
  const void* out = nullptr;
  std::size_t count = 0;
  std::size_t size = 0;
  std::size_t align = 0;
};

inline const void* Id(std::uint64_t id) {
  return reinterpret_cast<const void*>(static_cast<std::uintptr_t>(id));
}

// The calls a harness made, from any thread.
class CallLog {
 public:
  static CallLog& Get() {
    static CallLog* const log = new CallLog;
    return *log;
  }

  // Forgets every call and thread; later calls are labelled `thread`, or
  // when it is -1, each thread by the order of its first call.
  void Reset(int thread) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.clear();
    forced_ = thread;
    ++generation_;
    threads_ = 0;
  }
  void Label(int thread) {
    std::lock_guard<std::mutex> lock(mu_);
    forced_ = thread;
  }

  void Add(Logged call) {
    thread_local std::pair<std::uint64_t, int> mine = {0, 0};
    std::lock_guard<std::mutex> lock(mu_);
    if (forced_ >= 0) {
      call.thread = forced_;
    } else {
      if (mine.first != generation_) mine = {generation_, threads_++};
      call.thread = mine.second;
    }
    calls_.push_back(std::move(call));
  }

  std::vector<Logged> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(calls_, {});
  }

 private:
  std::mutex mu_;
  std::vector<Logged> calls_;
  int forced_ = 0;
  std::uint64_t generation_ = 1;
  int threads_ = 0;
};

// Drops what a harness checks after each allocation: the usable size of
// the block it was just given.
inline std::vector<Logged> WithoutAdmitChecks(const std::vector<Logged>& in) {
  std::vector<Logged> out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i > 0 && in[i].fn == "usable" && in[i - 1].out != nullptr &&
        in[i].in == in[i - 1].out && in[i].thread == in[i - 1].thread) {
      continue;
    }
    out.push_back(in[i]);
  }
  return out;
}

// Threads renumbered in the order they first appear.
inline void RelabelThreads(std::vector<Logged>& calls) {
  std::map<int, int> label;
  for (Logged& call : calls) {
    call.thread = label.emplace(call.thread, label.size()).first->second;
  }
}

// The calls as lines: "t1 malloc s100 a16 -> b1.0", "t0 free b1.0",
// blocks named by the thread that made them and how many it made before.
inline std::vector<std::string> Canonical(const std::vector<Logged>& calls) {
  std::map<const void*, std::string> names;
  std::map<int, int> made;
  std::vector<std::string> lines;
  for (const Logged& c : calls) {
    std::string line = "t" + std::to_string(c.thread) + " " + c.fn;
    if (c.in != nullptr) {
      const auto it = names.find(c.in);
      line += " " + (it == names.end() ? std::string("unknown") : it->second);
      if (c.fn != "usable" && it != names.end()) names.erase(it);
    }
    if (c.count != 0) line += " n" + std::to_string(c.count);
    if (c.size != 0) line += " s" + std::to_string(c.size);
    if (c.align != 0) line += " a" + std::to_string(c.align);
    if (c.out != nullptr) {
      names[c.out] = "b" + std::to_string(c.thread) + "." +
                     std::to_string(made[c.thread]++);
      line += " -> " + names[c.out];
    }
    lines.push_back(line);
  }
  return lines;
}

// The lines of one thread.
inline std::vector<std::string> OfThread(const std::vector<std::string>& all,
                                         int thread) {
  const std::string prefix = "t" + std::to_string(thread) + " ";
  std::vector<std::string> lines;
  for (const std::string& line : all) {
    if (line.starts_with(prefix)) lines.push_back(line);
  }
  return lines;
}

// `actual` split after its first `n` lines: the rest, which must be the
// harness's frees of what was left live at the end.
inline std::vector<std::string> Tail(std::vector<std::string>& actual,
                                     std::size_t n) {
  std::vector<std::string> tail;
  if (actual.size() > n) {
    tail.assign(actual.begin() + static_cast<long>(n), actual.end());
    actual.resize(n);
  }
  return tail;
}

inline bool AllFrees(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) {
    if (line.find(" free ") == std::string::npos &&
        line.find(" delete ") == std::string::npos &&
        line.find(" sized_delete ") == std::string::npos) {
      return false;
    }
  }
  return true;
}

// The window of a trace built in memory; an empty one (and `error` set)
// when the trace or the options are refused.
inline trace_to_fuzz::Window WindowOf(const trace::testing::TraceBuilder& b,
                                      trace_to_fuzz::WindowOptions options,
                                      std::string* error) {
  trace::Trace trace;
  trace_to_fuzz::Window window;
  if (!trace::ParseTrace(b.bytes().data(), b.size(), &trace, error) ||
      !trace_to_fuzz::SelectWindow(trace, options, &window, error)) {
    return {};
  }
  return window;
}

// A record `delta_ns` after its thread's previous one, to interleave
// threads in a chosen order.
inline trace::testing::Rec After(std::uint64_t delta_ns,
                                 trace::testing::Rec rec) {
  rec.delta_ns = delta_ns;
  return rec;
}

// A trace of a simulated run: `threads` threads taking turns at random,
// each step one call on a block live at that step (any thread's): every
// kind of call, cross-thread frees, failed allocations, free(nullptr).
// Sizes mostly small, now and then up to `largest`.
inline trace::testing::TraceBuilder RandomTrace(std::uint64_t seed, int threads,
                                                int steps,
                                                std::size_t largest) {
  namespace tb = trace::testing;
  std::uint64_t state = seed * 0x9e3779b97f4a7c15u + 1;
  auto next = [&state](std::uint64_t n) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (state * 0x2545f4914f6cdd1du >> 11) % n;
  };
  auto size = [&] {
    const std::uint64_t shape = next(8);
    return shape < 5 ? next(512) : shape < 7 ? next(8192) : next(largest + 1);
  };
  std::vector<std::vector<tb::Rec>> records(threads);
  std::vector<std::uint64_t> last(threads);
  for (int t = 0; t < threads; ++t) {
    records[t].push_back(tb::Start(t));
    last[t] = t;
  }
  struct Block {
    std::uint64_t id;
    bool is_new;
  };
  std::vector<Block> live;
  std::uint64_t next_id = 1;
  for (int step = 0; step < steps; ++step) {
    const int t = static_cast<int>(next(threads));
    const std::uint64_t now = threads + step;
    const std::uint64_t op = next(16);
    const std::size_t pick = live.empty() ? 0 : next(live.size());
    tb::Rec rec;
    if (op < 5 || (live.empty() && op >= 8 && op < 14)) {
      rec = tb::Malloc(size(), next_id);
      live.push_back({next_id++, false});
    } else if (op == 5) {
      rec = tb::Calloc(1 + next(20), next(300), next_id);
      live.push_back({next_id++, false});
    } else if (op == 6) {
      rec = tb::AlignedAlloc(std::uint64_t{1} << next(13), size(), next_id);
      live.push_back({next_id++, false});
    } else if (op == 7) {
      rec = tb::New(next(3) == 0 ? 64 : 0, size(), next_id);
      live.push_back({next_id++, true});
    } else if (op == 8 && !live[pick].is_new) {
      rec = tb::Realloc(live[pick].id, next(4) == 0 ? 0 : size(), 0);
      if (rec.fields[1] == 0) {
        live.erase(live.begin() + static_cast<long>(pick));
      } else {
        rec.fields[2] = next_id;
        live[pick].id = next_id++;
      }
    } else if (op >= 8 && op < 13) {
      const Block b = live[pick];
      live.erase(live.begin() + static_cast<long>(pick));
      const bool sized = next(2) == 0;
      rec = b.is_new ? (sized ? tb::DeleteSized(b.id, 0) : tb::Delete(b.id))
                     : (sized ? tb::FreeSized(b.id, 0) : tb::Free(b.id));
    } else if (op == 13) {
      rec = tb::UsableSize(live[pick].id);
    } else if (op == 14) {
      rec = tb::Malloc(std::uint64_t{1} << 50, 0);  // Failed.
    } else {
      rec = tb::Free(0);
    }
    rec.delta_ns = now - last[t];
    last[t] = now;
    records[t].push_back(rec);
  }
  records[0].push_back(tb::End());
  trace::testing::TraceBuilder b;
  for (int t = 1; t <= threads; ++t) {  // The first last: it ends.
    b.Frame(t % threads + 1, records[t % threads]);
  }
  return b;
}

}  // namespace rusty_malloc::trace_to_fuzz_test

#endif  // RUSTY_MALLOC_TESTS_TRACE_TO_FUZZ_TESTING_H_

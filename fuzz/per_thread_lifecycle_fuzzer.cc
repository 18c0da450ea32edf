// The per-thread allocator's lifecycle at scale: a few input bytes allocate
// thousands of blocks, free whole pages or chunks from another thread, end
// a thread (its heap is abandoned) and start one (it adopts a heap). Threads
// are actors that run one command at a time for the fuzz loop, so an input
// replays the same way every time and Verify() runs at quiescent moments:
// after every thread exit, and otherwise once the blocks allocated and freed
// since the last check add up to a quarter of those live, so checking costs
// at most a few times the work it checks. One command runs two actors at once
// (a thread exits while another frees into its heap; malloc_trim collects
// abandoned heaps while another thread frees into them), for TSan. Built under
// ASan+UBSan (--config=fuzz) and TSan (--config=fuzz_tsan).

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "allocator/per_thread/size_classes.h"
#include "fuzz/fuzz_input.h"
#include "testing/no_coverage.h"
#include "testing/patterns.h"
#include "testing/test_growers.h"

namespace rusty_malloc::fuzzing {
namespace {

// A thread that runs the tasks it is given, one at a time, until it is
// told to exit.
class Actor {
 public:
  Actor() : thread_([this] { Loop(); }) {}
  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;
  ~Actor() {
    Start(nullptr);
    thread_.join();
  }

  // Hands `task` to the thread (nullptr: exit) and returns at once.
  void Start(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = std::move(task);
    exit_ = task_ == nullptr;
    pending_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !pending_; });
  }
  void Run(std::function<void()> task) {
    Start(std::move(task));
    Wait();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return pending_; });
        if (exit_) return;
        task = std::move(task_);
      }
      task();
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = false;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> task_;
  bool pending_ = false;
  bool exit_ = false;
  std::thread thread_;
};

constexpr int kActors = 4;
// Patterns cover a block's first two words (where the allocator links a
// free block, so a block handed out twice or freed while live shows), its
// tail, and one word in kPatternStride: an input holds megabytes, and full
// patterns would cost more than everything else it does.
constexpr std::size_t kPatternStride = 32;
// Room for two and a half chunks of small blocks: enough for every multi-chunk
// path, and a bound on the pattern bytes each input writes and checks.
constexpr std::size_t kMaxLiveBytes = std::size_t{10} << 20;
constexpr std::size_t kMaxLiveBlocks = 16384;

struct Live {
  void* ptr;
  std::size_t size;
  std::uint64_t id;
};

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // Loops over thousands of blocks.

template <typename Heap>
class Lifecycle {
 public:
  explicit Lifecycle(Heap& heap) : heap_(heap) {}
  ~Lifecycle() {
    for (auto& actor : actors_) actor.reset();
  }

  void Step(FuzzInput& in) {
    const std::uint8_t op = in.Byte();
    const int a = in.Byte() % kActors;
    switch (op % 8) {
      case 0:
      case 1: {  // Up to 1,021 blocks of one small class.
        const int cls = in.Byte() % kSizeClasses;
        const std::size_t count = 1 + std::size_t{in.Byte()} * 4;
        const std::size_t size = ClassSize(cls) - in.Byte() % 16;
        On(a, [&] { AllocateMany(count, size); });
        break;
      }
      case 2: {  // One block of any size, alignment included.
        const std::size_t size = in.Size();
        const std::size_t align = std::size_t{1} << (in.Byte() % 13);
        On(a, [&] { AllocateMany(1, size, align); });
        break;
      }
      case 3: {  // Every block of one page (span) or one chunk, by `a`.
        if (live_.empty()) break;
        const void* anchor = live_[in.Uint16() % live_.size()].ptr;
        const bool whole_chunk = in.Byte() % 2 == 0;
        On(a, [&] {
          FreeIf([&](const Live& l) {
            return whole_chunk ? ChunkOf(l.ptr) == ChunkOf(anchor)
                               : Span(l.ptr) == Span(anchor);
          });
        });
        break;
      }
      case 4: {  // Every n-th block, by actor `a`.
        const std::size_t stride = 1 + in.Byte() % 8;
        const std::size_t phase = in.Byte() % stride;
        On(a, [&] {
          std::size_t i = 0;
          FreeIf([&](const Live&) { return i++ % stride == phase; });
        });
        break;
      }
      case 5: {  // Resize a block through a few sizes.
        if (live_.empty()) break;
        const std::size_t index = in.Uint16() % live_.size();
        const std::size_t size = in.Size();
        On(a, [&] { Reallocate(index, size); });
        break;
      }
      case 6:
        if (op & 0x80) {  // malloc_trim on `a` while another actor frees.
          const int b = (a + 1 + in.Byte() % (kActors - 1)) % kActors;
          std::vector<Live> doomed;
          for (std::size_t i = live_.size(); i-- > 0;) {
            if (i % 2 == 0) {
              doomed.push_back(live_[i]);
              Forget(i);
            }
          }
          Actor& freer = Get(b);
          freer.Start([&] {
            for (const Live& l : doomed) CheckAndFree(l);
          });
          On(a, [&] { heap_.ReleaseFreeMemory(); });
          freer.Wait();
          thread_exited_ = true;  // Check now.
          break;
        }
        // Actor `a`'s thread exits; the next use of `a` adopts.
        actors_[a].reset();
        thread_exited_ = true;
        break;
      default: {  // `a` exits while another actor frees blocks.
        if (actors_[a] == nullptr) break;
        const int b = (a + 1 + in.Byte() % (kActors - 1)) % kActors;
        const std::size_t stride = 1 + in.Byte() % 4;
        std::vector<Live> doomed;
        for (std::size_t i = live_.size(); i-- > 0;) {
          if (i % stride == 0) {
            doomed.push_back(live_[i]);
            Forget(i);
          }
        }
        Actor& freer = Get(b);
        freer.Start([&] {
          for (const Live& l : doomed) CheckAndFree(l);
        });
        actors_[a].reset();
        freer.Wait();
        thread_exited_ = true;
        break;
      }
    }
    if (thread_exited_ || unchecked_ >= live_.size() / 4) Check();
  }

  void FreeAll() {
    On(0, [&] { FreeIf([](const Live&) { return true; }); });
    Check();
  }

 private:
  Actor& Get(int a) {
    if (actors_[a] == nullptr) actors_[a] = std::make_unique<Actor>();
    return *actors_[a];
  }
  void On(int a, std::function<void()> task) { Get(a).Run(std::move(task)); }
  // The descriptor of the span (or page) holding `p`; for a block outside
  // the chunks, just where one would be (not read).
  const void* Span(const void* p) {
    return heap_.source().Contains(p) ? static_cast<const void*>(SpanOf(p))
                                      : PageOf(p);
  }

  void AllocateMany(std::size_t count, std::size_t size,
                    std::size_t align = kGranule) {
    for (std::size_t i = 0; i < count; ++i) {
      if (live_bytes_ + size > kMaxLiveBytes ||
          live_.size() >= kMaxLiveBlocks) {
        return;
      }
      void* p = heap_.Allocate(size, align);
      if (p == nullptr) return;  // The chunk source may run out.
      if (reinterpret_cast<std::uintptr_t>(p) % align != 0) {
        Require("misaligned block");
      }
      if (heap_.UsableSize(p) < size) Require("block smaller than asked");
      testing::FillPattern(p, size, next_id_, kPatternStride);
      live_.push_back({p, size, next_id_++});
      ++unchecked_;
      live_bytes_ += size;
    }
  }

  void CheckAndFree(const Live& l) {
    if (testing::FirstPatternMismatch(l.ptr, l.size, l.id, kPatternStride) !=
        l.size) {
      Require("block damaged before free");
    }
    heap_.Deallocate(l.ptr);
  }

  template <typename Pred>
  void FreeIf(Pred pred) {
    for (std::size_t i = 0; i < live_.size();) {
      if (pred(live_[i])) {
        CheckAndFree(live_[i]);
        Forget(i);
      } else {
        ++i;
      }
    }
  }

  void Reallocate(std::size_t index, std::size_t size) {
    Live& l = live_[index];
    if (live_bytes_ - l.size + size > kMaxLiveBytes) return;
    void* p = heap_.Reallocate(l.ptr, size);
    if (p == nullptr) return;
    const std::size_t kept = std::min(size, l.size);
    if (testing::FirstPatternMismatch(p, kept, l.id, kPatternStride, l.size) !=
        kept) {
      Require("realloc lost contents");
    }
    testing::FillPattern(p, size, l.id, kPatternStride);
    live_bytes_ = live_bytes_ - l.size + size;
    l.ptr = p;
    l.size = size;
  }

  void Forget(std::size_t i) {
    ++unchecked_;
    live_bytes_ -= live_[i].size;
    live_[i] = live_.back();
    live_.pop_back();
  }

  // Every actor is idle here.
  void Check() {
    unchecked_ = 0;
    thread_exited_ = false;
    const HeapReport report = heap_.Verify();
    if (!report.ok()) Require("Verify: " + report.ToString());
    if (heap_.Stats().allocated_blocks != live_.size()) {
      Require("allocated block count disagrees with the model");
    }
  }

  Heap& heap_;
  std::unique_ptr<Actor> actors_[kActors];
  std::vector<Live> live_;
  std::size_t live_bytes_ = 0;
  std::uint64_t next_id_ = 0;
  std::size_t unchecked_ = 0;   // Blocks allocated or freed since Check().
  bool thread_exited_ = false;  // An actor's thread ended since Check().
};

RUSTY_MALLOC_NO_COVERAGE_END

template <typename Heap>
void Run(Heap& heap, FuzzInput& in) {
  Lifecycle<Heap> lifecycle(heap);
  for (int ops = 0; ops < 256 && !in.empty(); ++ops) lifecycle.Step(in);
  lifecycle.FreeAll();
}

}  // namespace

void FuzzOne(FuzzInput& in) {
  // The mmap source gives released chunks back to the OS (zeroed), so a
  // chunk touched after its release shows; the grower source reuses them,
  // and its buffer outlives the input (testing/test_growers.h), so it costs no
  // page faults: it runs three inputs in four.
  if (in.Byte() % 4 == 0) {
    PerThreadMalloc<MmapChunkSource> heap(std::size_t{64} * kChunkSize);
    Run(heap, in);
  } else {
    PerThreadMalloc<GrowerChunkSource<testing::TestGrower>> heap(
        testing::TestGrower(std::size_t{64} * kChunkSize));
    Run(heap, in);
  }
}

}  // namespace rusty_malloc::fuzzing

// The per-thread allocator's lifecycle at scale: a few input bytes allocate
// thousands of blocks, free whole pages or chunks from another thread, end
// a thread (its heap is abandoned) and start one (it adopts a heap), trim
// every heap and bound the memory left (the footprint oracle), read the
// statistics while threads free each other's blocks, and fork. Threads are
// actors that run one command at a time for the fuzz loop, so an input
// replays the same way every time and Verify() runs at quiescent moments:
// after every thread exit, and otherwise once the blocks allocated and freed
// since the last check add up to a quarter of those live, so checking costs
// at most a few times the work it checks. Some commands run actors at once
// (a thread exits while another frees into its heap; malloc_trim while
// another thread frees; Stats() while one thread frees another's blocks and
// that one allocates), for TSan. Built under ASan+UBSan (--config=fuzz) and
// TSan (--config=fuzz_tsan).

#include <errno.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
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

// The actors' threads outlive the input: starting a thread costs more than
// most commands (a stack, the sanitizer's per-thread state; under TSan,
// half of an input's time), and a thread that ends only at the end of an
// input teaches nothing the thread-exit commands do not. A kept thread's
// binding names the previous input's allocator, which every allocator
// tells apart from its own (ThreadBinding's instance id and heap tags), so
// each input still starts with threads that have no heap in it. Never
// destroyed: the threads wait for work until the process exits.
std::unique_ptr<Actor>* ActorPool() {
  static auto* const pool = new std::unique_ptr<Actor>[kActors];
  return pool;
}

#if defined(__SANITIZE_THREAD__)
#define RUSTY_MALLOC_FUZZ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RUSTY_MALLOC_FUZZ_TSAN 1
#endif
#endif

// Patterns cover a block's first two words (where the allocator links a
// free block, so a block handed out twice or freed while live shows), its
// tail, and one word in kPatternStride: an input holds megabytes, and full
// patterns would cost more than everything else it does. Under TSan every
// word written or read is a call into its runtime (two fifths of an input's
// time at 32), and what TSan needs is the words the allocator touches too,
// the first and last; one word per 8 KiB keeps contents checked.
// Room for two and a half chunks of small blocks: enough for every multi-chunk
// path, and a bound on the pattern bytes each input writes and checks. On
// the mmap chunk source every page is fresh from the OS (a page fault, and
// under TSan four more for its shadow: an mmap input cost two and a half
// times a grower one), so that source gets less; with four threads' heaps
// that is still several chunks. One input in kMmapEvery runs on it; what it
// adds is mostly ASan's (its released chunks are poisoned), so TSan runs it
// half as often.
#if defined(RUSTY_MALLOC_FUZZ_TSAN)
constexpr std::size_t kPatternStride = 1024;
constexpr std::size_t kMaxLiveBytesMmap = std::size_t{4} << 20;
constexpr int kMmapEvery = 8;
#else
constexpr std::size_t kPatternStride = 32;
constexpr std::size_t kMaxLiveBytesMmap = std::size_t{6} << 20;
constexpr int kMmapEvery = 4;
#endif
constexpr std::size_t kMaxLiveBytesGrower = std::size_t{10} << 20;
constexpr std::size_t kMaxLiveBytesChild = std::size_t{1} << 20;
constexpr std::size_t kMaxLiveBlocks = 16384;
// What an actor allocates and frees, over and over, while another forks.
constexpr int kChurnBlocks = 16;
constexpr std::size_t kChurnSize = 1024;

// fork() copies the page tables of a process with a sanitizer's shadow
// (milliseconds): at most one input in kInputsPerFork forks, counted from
// the start of the process, so that a replayed input forks when a fuzzing
// run skipped it. Skipping changes nothing in the parent's heap.
constexpr std::uint64_t kInputsPerFork = 32;
std::uint64_t inputs_run = 0;
std::uint64_t forks_run = 0;

struct Live {
  void* ptr;
  std::size_t size;
  std::uint64_t id;
};

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // Loops over thousands of blocks.

template <typename Heap>
class Lifecycle {
 public:
  Lifecycle(Heap& heap, std::size_t max_live_bytes)
      : heap_(heap), actors_(ActorPool()), max_live_bytes_(max_live_bytes) {}

  void Step(FuzzInput& in) {
    const std::uint8_t op = in.Byte();
    const int a = in.Byte() % kActors;
    switch (op % 8) {
      case 0:
      case 1: {  // Up to 1,021 blocks of one small class.
        const int cls = in.Byte() % kSizeClasses;
        const std::size_t count = 1 + std::size_t{in.Byte()} * 4;
        const std::size_t size = ClassSize(cls) - in.Byte() % 16;
        ExpectChunksFor(count * ClassSize(cls));
        On(a, [&] { AllocateMany(count, size); });
        break;
      }
      case 2: {  // One block of any size, alignment included.
        const std::size_t size = in.Size();
        const std::size_t align = std::size_t{1} << (in.Byte() % 13);
        ExpectChunksFor(std::max(size, align));
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
        ExpectChunksFor(size);
        On(a, [&] { Reallocate(index, size); });
        break;
      }
      case 6:
        if (op & 0x80) {
          TrimWhileFreeing(in, a);
        } else if (op & 0x40) {
          TrimEverywhere();
        } else {
          // Actor `a`'s thread exits; the next use of `a` adopts.
          actors_[a].reset();
          thread_exited_ = true;
        }
        break;
      default:
        switch ((op >> 3) % 8) {
          case 1:
            StatsBesideCrossThreadFrees(in, a);
            break;
          case 2:
            Fork(in, a);
            break;
          case 3:
            ReclaimBesideWork(in, a);
            break;
          default:
            ExitWhileFreeing(in, a);
            break;
        }
        break;
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
  // Every `stride`-th live block, taken out of the model (the caller frees
  // them).
  std::vector<Live> TakeEvery(std::size_t stride) {
    std::vector<Live> taken;
    for (std::size_t i = live_.size(); i-- > 0;) {
      if (i % stride == 0) {
        taken.push_back(live_[i]);
        Forget(i);
      }
    }
    return taken;
  }

  // malloc_trim on `a` while another actor frees.
  void TrimWhileFreeing(FuzzInput& in, int a) {
    const int b = (a + 1 + in.Byte() % (kActors - 1)) % kActors;
    const std::vector<Live> doomed = TakeEvery(2);
    Actor& freer = Get(b);
    freer.Start([&] {
      for (const Live& l : doomed) CheckAndFree(l);
    });
    On(a, [&] { heap_.ReleaseFreeMemory(); });
    freer.Wait();
    thread_exited_ = true;  // Check now.
  }

  // `a` exits while another actor frees blocks.
  void ExitWhileFreeing(FuzzInput& in, int a) {
    if (actors_[a] == nullptr) return;
    const int b = (a + 1 + in.Byte() % (kActors - 1)) % kActors;
    const std::vector<Live> doomed = TakeEvery(1 + in.Byte() % 4);
    Actor& freer = Get(b);
    freer.Start([&] {
      for (const Live& l : doomed) CheckAndFree(l);
    });
    actors_[a].reset();
    freer.Wait();
    thread_exited_ = true;
  }

  // Actor `a` runs `watch(busy, most_live)` while actor `b` frees blocks
  // into other heaps' pages (remote frees in flight) and actor `c`
  // allocates, taking back the remote frees of its own pages and reusing
  // those blocks; `busy` counts `b` and `c` until each is done, and
  // `most_live` bounds the blocks live meanwhile. With `flush_first`, the
  // actors' batched remote frees go over before it starts.
  template <typename Watch>
  void BesideCrossThreadFrees(FuzzInput& in, int a, bool flush_first,
                              Watch watch) {
    const int b = (a + 1 + in.Byte() % (kActors - 1)) % kActors;
    int c = (b + 1 + in.Byte() % (kActors - 1)) % kActors;
    if (c == a) c = (c + 1) % kActors;
    if (c == b) c = (c + 1) % kActors;
    const int cls = in.Byte() % 24;  // Up to 1,536 bytes: many per page.
    const std::size_t count = 1 + std::size_t{in.Byte()} * 2;
    const std::size_t size = ClassSize(cls);
    const std::vector<Live> doomed = TakeEvery(1 + in.Byte() % 3);
    if (flush_first) FlushEveryActor();
    const std::size_t most_live = live_.size() + doomed.size() + count;
    ExpectChunksFor(count * size);
    std::atomic<int> busy{2};
    std::vector<Live> made;
    Actor& watcher = Get(a);
    Actor& freer = Get(b);
    Actor& maker = Get(c);
    watcher.Start([&] { watch(busy, most_live); });
    freer.Start([&] {
      for (const Live& l : doomed) CheckAndFree(l);
      busy.fetch_sub(1);
    });
    const std::uint64_t first_id = next_id_;
    next_id_ += count;
    maker.Start([&] {
      made = AllocateLoose(count, size, first_id);
      busy.fetch_sub(1);
    });
    freer.Wait();
    maker.Wait();
    watcher.Wait();
    for (const Live& l : made) Admit(l, /*fill=*/false);
  }

  // Statistics read beside the work they describe, as a monitoring thread
  // polls mallinfo2: actor `a` calls Stats() over and over beside cross-
  // thread frees and allocation. Stats() may follow nothing that the owner
  // changes unsynchronized (TSan reports it: kStatsWalkRemoteList), and its
  // figures must add up at every instant.
  void StatsBesideCrossThreadFrees(FuzzInput& in, int a) {
    // Blocks freed earlier and still batched would count as allocated too.
    BesideCrossThreadFrees(
        in, a, /*flush_first=*/true,
        [this](const std::atomic<int>& busy, std::size_t most_live) {
          // At least a few reads, and until both others are done.
          for (int polls = 0; polls < 4 || busy.load() != 0; ++polls) {
            CheckStatsAddUp(heap_.Stats(), most_live);
          }
        });
  }

  // Idle heaps reclaimed (as a heap about to take a new chunk does) by
  // actor `a`, over and over, beside cross-thread frees and allocation: the
  // other actors' heaps are idle (each actor runs one command at a time),
  // and the busy ones' owners run their fast paths beside the reclaim,
  // which may take nothing they write unordered (TSan reports it:
  // kReclaimTakesFrontPage) and no page with a block in use (the model's
  // checks report that).
  void ReclaimBesideWork(FuzzInput& in, int a) {
    BesideCrossThreadFrees(in, a, /*flush_first=*/false,
                           [this](const std::atomic<int>& busy, std::size_t) {
                             for (int rounds = 0;
                                  rounds < 2 || busy.load() != 0; ++rounds) {
                               heap_.ReclaimIdleHeaps();
                             }
                           });
    thread_exited_ = true;  // Check now.
  }

  // What Stats() reports while threads run: each figure is some instant's,
  // so only what holds at every instant is checked.
  static void CheckStatsAddUp(const HeapStats& s, std::size_t most_blocks) {
    if (s.allocated_bytes + s.free_bytes + s.overhead_bytes != s.heap_bytes) {
      Require("Stats beside threads: figures do not add up to heap_bytes");
    }
    // One block more for a remote free counted on its page just after the
    // read of the page's count.
    if (s.allocated_blocks > most_blocks + 1) {
      Require("Stats beside threads: more blocks than were ever live");
    }
  }

  // fork() while actors are alive (and one of them allocating and freeing
  // its own blocks), over the mmap chunk source: the child, holding every lock
  // the parent's atfork handlers took in a consistent state, frees some
  // inherited blocks (into heaps whose threads it does not have), allocates and
  // checks its own, and Verify()s; its exit status says whether all held.
  void Fork(FuzzInput& in, int a) {
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

  void ForkNow(int a, bool busy_actor, std::size_t inherited,
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
  void ChildWork(std::size_t inherited, std::size_t count, std::size_t size) {
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
    if (!report.ok())
      Require("Verify in the forked child: " + report.ToString());
  }

  // Every heap trimmed, as each thread's purge and malloc_trim would leave
  // it: then the footprint oracle, exactly.
  void TrimEverywhere() {
    // A page emptied only by a batch pushed after the trims would keep its
    // chunk, and the footprint check is exact here.
    FlushEveryActor();
    // Actor 0 at least, so that abandoned heaps are trimmed even when no
    // thread is left.
    for (int a = 0; a < kActors; ++a) {
      if (a == 0 || actors_[a] != nullptr) {
        On(a, [&] { heap_.ReleaseFreeMemory(); });
      }
    }
    Check(/*trimmed=*/true);
  }

  void AllocateMany(std::size_t count, std::size_t size,
                    std::size_t align = kGranule) {
    for (std::size_t i = 0; i < count; ++i) {
      if (live_bytes_ + size > max_live_bytes_ ||
          live_.size() >= kMaxLiveBlocks) {
        return;
      }
      void* p = Allocate(size, align);
      if (p == nullptr) return;  // The chunk source may run out.
      Admit({p, size, next_id_++});
    }
  }

  // Like AllocateMany, but into a list of its own with ids from `id` on,
  // patterns filled, for an actor that runs beside others (the model is
  // only read); the caller admits them.
  std::vector<Live> AllocateLoose(std::size_t count, std::size_t size,
                                  std::uint64_t id) {
    std::vector<Live> made;
    std::size_t bytes = live_bytes_;
    for (std::size_t i = 0; i < count; ++i) {
      if (bytes + size > max_live_bytes_ ||
          live_.size() + made.size() >= kMaxLiveBlocks) {
        break;
      }
      void* p = Allocate(size, kGranule);
      if (p == nullptr) break;
      made.push_back({p, size, id++});
      testing::FillPattern(p, size, made.back().id, kPatternStride);
      bytes += size;
    }
    return made;
  }

  void* Allocate(std::size_t size, std::size_t align) {
    void* p = heap_.Allocate(size, align);
    if (p == nullptr) return nullptr;
    if (reinterpret_cast<std::uintptr_t>(p) % align != 0) {
      Require("misaligned block");
    }
    if (heap_.UsableSize(p) < size) Require("block smaller than asked");
    return p;
  }

  // Takes a block into the model with a fresh pattern (its id is unique:
  // blocks made beside others get theirs from a separate range).
  void Admit(const Live& l, bool fill = true) {
    if (fill) testing::FillPattern(l.ptr, l.size, l.id, kPatternStride);
    live_.push_back(l);
    ++unchecked_;
    live_bytes_ += l.size;
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
    if (live_bytes_ - l.size + size > max_live_bytes_) return;
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

  // The footprint oracle's bookkeeping for a command about to allocate
  // about `bytes` of small blocks: see CheckFootprint.
  void ExpectChunksFor(std::size_t bytes) {
    chunks_expected_ += 1 + 2 * std::min(bytes, max_live_bytes_) / kChunkSize;
    peak_chunks_ =
        std::max(peak_chunks_, chunks_after_trim_ + chunks_expected_);
  }

  // The chunks that hold a live block of the model.
  std::size_t ChunksInUse() {
    std::vector<const ChunkHeader*> chunks;
    for (const Live& l : live_) {
      if (heap_.source().Contains(l.ptr)) chunks.push_back(ChunkOf(l.ptr));
    }
    std::sort(chunks.begin(), chunks.end());
    return static_cast<std::size_t>(std::unique(chunks.begin(), chunks.end()) -
                                    chunks.begin());
  }

  // The footprint oracle: memory that must have gone back, or been reused.
  //
  // The heaps' chunks are Stats().heap_bytes less the medium heap's. Right
  // after every heap was trimmed (`trimmed`), each empty page is retired and
  // each chunk with no page in use released, the last one too
  // (ThreadHeap::Purge), so the heaps hold exactly the chunks where a live
  // block of the model lies: no slack at all, and a chunk kept empty fails.
  //
  // What the source keeps read-write (committed_bytes, less the medium
  // heap's) is a high-water mark: a released chunk stays committed for
  // reuse, and is handed out again before a new one is carved. So it may
  // reach the most chunks the heaps ever held at once, and no further. The
  // model bounds that peak from above: at a trim the heaps hold C chunks
  // (above), and each allocating command after it can add at most
  // 1 + 2 * bytes / kChunkSize: a new thread heap's first chunk or a
  // partly used last one, and its bytes at half a chunk's worth per chunk
  // (a 1 MiB span fits three times in a chunk's 63 free pages, which is
  // the worst packing of any class; medium-sized requests take no chunk).
  // The bound is C plus those terms, the largest seen since the input
  // began. A source that carves new chunks while released ones wait
  // (kReleasedChunkNotReused) passes it after a few trims and allocations.
  void CheckFootprint(const HeapStats& stats, bool trimmed) {
    const HeapStats medium = heap_.medium().Stats();
    const std::size_t chunk_bytes = stats.heap_bytes - medium.heap_bytes;
    const std::size_t committed =
        stats.committed_bytes - medium.committed_bytes;
    if (chunk_bytes % kChunkSize != 0 || committed < chunk_bytes) {
      Require("footprint: heaps hold more chunks than the source committed");
    }
    if (trimmed) {
      const std::size_t in_use = ChunksInUse();
      if (chunk_bytes != in_use * kChunkSize) {
        Require("footprint: after every heap's trim, heaps hold " +
                std::to_string(chunk_bytes / kChunkSize) +
                " chunks where live blocks lie in " + std::to_string(in_use));
      }
      chunks_after_trim_ = in_use;
      chunks_expected_ = 0;
      peak_chunks_ = std::max(peak_chunks_, in_use);
    }
    if (committed > peak_chunks_ * kChunkSize) {
      Require("footprint: the source committed " +
              std::to_string(committed / kChunkSize) +
              " chunks where the heaps can have needed " +
              std::to_string(peak_chunks_) + " at most: released chunks " +
              "are not reused");
    }
  }

  // Every live actor hands over the remote frees it holds in its batches
  // (ThreadHeap::FreeRemoteBatched), as a thread going idle may: until then
  // they count as allocated. An exited actor's went over at its exit.
  void FlushEveryActor() {
    for (int a = 0; a < kActors; ++a) {
      if (actors_[a] != nullptr) {
        actors_[a]->Run([this] { heap_.FlushRemoteFrees(); });
      }
    }
  }

  // Every actor is idle here.
  void Check(bool trimmed = false) {
    FlushEveryActor();
    unchecked_ = 0;
    thread_exited_ = false;
    const HeapReport report = heap_.Verify();
    if (!report.ok()) Require("Verify: " + report.ToString());
    const HeapStats stats = heap_.Stats();
    if (stats.allocated_blocks != live_.size()) {
      Require("allocated block count disagrees with the model");
    }
    CheckFootprint(stats, trimmed);
  }

  Heap& heap_;
  std::unique_ptr<Actor>* const actors_;
  std::size_t max_live_bytes_;
  std::vector<Live> live_;
  std::size_t live_bytes_ = 0;
  std::uint64_t next_id_ = 0;
  std::size_t unchecked_ = 0;   // Blocks allocated or freed since Check().
  bool thread_exited_ = false;  // An actor's thread ended since Check().
  // The footprint oracle's bound on the chunks the heaps ever held at once
  // (CheckFootprint): the chunks in use at the last trim, the commands'
  // allowance since, and the largest sum so far.
  std::size_t chunks_after_trim_ = 0;
  std::size_t chunks_expected_ = 0;
  std::size_t peak_chunks_ = 0;
};

RUSTY_MALLOC_NO_COVERAGE_END

template <typename Heap>
void Run(Heap& heap, FuzzInput& in, std::size_t max_live_bytes) {
  Lifecycle<Heap> lifecycle(heap, max_live_bytes);
  for (int ops = 0; ops < 256 && !in.empty(); ++ops) lifecycle.Step(in);
  lifecycle.FreeAll();
}

}  // namespace

void FuzzOne(FuzzInput& in) {
  ++inputs_run;
  // The mmap source gives released chunks back to the OS (and ASan poisons
  // them), so a chunk touched after its release shows, and it has the
  // decommit path and the committed-memory figure the footprint oracle
  // bounds; the grower source reuses them, and its buffer outlives the input
  // (testing/test_growers.h), so it costs no page faults: it runs the rest
  // (see kMmapEvery).
  if (in.Byte() % kMmapEvery == 0) {
    PerThreadMalloc<MmapChunkSource> heap(std::size_t{64} * kChunkSize);
    Run(heap, in, kMaxLiveBytesMmap);
  } else {
    PerThreadMalloc<GrowerChunkSource<testing::TestGrower>> heap(
        testing::TestGrower(std::size_t{64} * kChunkSize));
    Run(heap, in, kMaxLiveBytesGrower);
  }
}

}  // namespace rusty_malloc::fuzzing

// Part of per_thread_lifecycle_fuzzer: the model of one input's run, with
// the command decoder (Step, whose cases the checked-in corpora rely on)
// and the state every command shares. Its members are defined by concern,
// each in a header of its own that the harness includes: the model's
// blocks (blocks.h), the commands that run actors at once
// (beside_others.h), fork() (fork.h), and the checks with the footprint
// oracle (footprint.h).

#ifndef RUSTY_MALLOC_FUZZ_LIFECYCLE_LIFECYCLE_H_
#define RUSTY_MALLOC_FUZZ_LIFECYCLE_LIFECYCLE_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/contiguous/header.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/size_classes.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/lifecycle/actor.h"
#include "fuzz/lifecycle/bounds.h"
#include "testing/no_coverage.h"

namespace rusty_malloc::fuzzing::lifecycle {

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

  // The model's blocks (blocks.h).
  const void* Span(const void* p);
  std::vector<Live> TakeEvery(std::size_t stride);
  void AllocateMany(std::size_t count, std::size_t size,
                    std::size_t align = kGranule);
  std::vector<Live> AllocateLoose(std::size_t count, std::size_t size,
                                  std::uint64_t id);
  void* Allocate(std::size_t size, std::size_t align);
  void Admit(const Live& l, bool fill = true);
  void CheckAndFree(const Live& l);
  template <typename Pred>
  void FreeIf(Pred pred);
  void Reallocate(std::size_t index, std::size_t size);
  void Forget(std::size_t i);

  // Commands that run actors at once, for TSan (beside_others.h).
  void TrimWhileFreeing(FuzzInput& in, int a);
  void ExitWhileFreeing(FuzzInput& in, int a);
  template <typename Watch>
  void BesideCrossThreadFrees(FuzzInput& in, int a, bool flush_first,
                              Watch watch);
  void StatsBesideCrossThreadFrees(FuzzInput& in, int a);
  void ReclaimBesideWork(FuzzInput& in, int a);
  static void CheckStatsAddUp(const HeapStats& s, std::size_t most_blocks);

  // fork() with threads alive (fork.h).
  void Fork(FuzzInput& in, int a);
  void ForkNow(int a, bool busy_actor, std::size_t inherited,
               std::size_t child_count, std::size_t child_size);
  void ChildWork(std::size_t inherited, std::size_t count, std::size_t size);

  // The checks at quiescent moments and the footprint oracle
  // (footprint.h).
  void TrimEverywhere();
  void ExpectChunksFor(std::size_t bytes);
  std::size_t ChunksInUse();
  void CheckFootprint(const HeapStats& stats, bool trimmed);
  void FlushEveryActor();
  void Check(bool trimmed = false);

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

}  // namespace rusty_malloc::fuzzing::lifecycle

#endif  // RUSTY_MALLOC_FUZZ_LIFECYCLE_LIFECYCLE_H_

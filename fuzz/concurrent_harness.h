#ifndef RUSTY_MALLOC_FUZZ_CONCURRENT_HARNESS_H_
#define RUSTY_MALLOC_FUZZ_CONCURRENT_HARNESS_H_

// Concurrent alloc and free on one shared heap: the input is split into one
// operation stream per thread, all run at once. Blocks are handed between
// threads through shared slots and freed by whichever thread holds them
// last. Every block carries a pattern checked before it is freed; after the
// threads join, Verify() and the block count are checked.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <span>
#include <thread>
#include <vector>

#include "allocator/common/heap_report.h"
#include "fuzz/fuzz_input.h"
#include "testing/patterns.h"

namespace rusty_malloc::fuzzing {
namespace concurrent_internal {

constexpr int kThreads = 4;
constexpr int kSlots = 8;

struct Letter {
  void* block;
  std::size_t size;
  std::uint64_t id;
};

inline void Fail(const char* what, std::uint64_t detail) {
  std::fprintf(stderr, "heap check failed: %s (%llu)\n", what,
               static_cast<unsigned long long>(detail));
  std::abort();
}

template <typename Heap>
void CheckAndFree(Heap& heap, const Letter& l) {
  if (testing::FirstPatternMismatch(l.block, l.size, l.id) != l.size) {
    Fail("block damaged before free", l.id);
  }
  heap.Deallocate(l.block);
}

template <typename Heap>
void Worker(Heap& heap, bool verify_while_running, std::atomic<Letter*>* slots,
            FuzzInput in, std::uint64_t first_id,
            std::atomic<long>* live_count) {
  std::vector<Letter> mine;
  std::uint64_t next_id = first_id;
  while (!in.empty()) {
    const std::uint8_t op = in.Byte();
    switch (op % 6) {
      case 0:
      case 1: {
        const std::size_t size = in.Size();
        void* p = heap.Allocate(size, in.Alignment() % 4096);
        if (p == nullptr) break;
        testing::FillPattern(p, size, next_id);
        mine.push_back({p, size, next_id++});
        live_count->fetch_add(1);
        break;
      }
      case 2:
        if (!mine.empty()) {
          const std::size_t i = in.Byte() % mine.size();
          CheckAndFree(heap, mine[i]);
          mine[i] = mine.back();
          mine.pop_back();
          live_count->fetch_sub(1);
        }
        break;
      case 3:
        if (!mine.empty()) {
          Letter& l = mine[in.Byte() % mine.size()];
          const std::size_t size = in.Size();
          void* p = heap.Reallocate(l.block, size);
          if (p == nullptr) break;
          const std::size_t kept = size < l.size ? size : l.size;
          if (testing::FirstPatternMismatch(p, kept, l.id) != kept) {
            Fail("realloc lost contents", l.id);
          }
          testing::FillPattern(p, size, l.id);
          l.block = p;
          l.size = size;
        }
        break;
      case 4: {
        // Swap a block of ours (or nothing) with whatever a slot holds.
        Letter* give = nullptr;
        if (!mine.empty() && in.Byte() % 2 == 0) {
          give = new Letter(mine.back());
          mine.pop_back();
        }
        Letter* got = slots[in.Byte() % kSlots].exchange(give);
        if (got != nullptr) {
          mine.push_back(*got);
          delete got;
        }
        break;
      }
      default:
        if (verify_while_running && !heap.Verify().ok()) {
          Fail("Verify during the run", op);
        }
        break;
    }
  }
  for (const Letter& l : mine) {
    CheckAndFree(heap, l);
    live_count->fetch_sub(1);
  }
}

}  // namespace concurrent_internal

// Runs `bytes`, split into kThreads streams, on `heap` from kThreads
// threads; aborts with a message on any failed check. `verify_while_running`
// lets threads call Verify() mid-run, for heaps whose Verify() is safe then (a
// locked heap; the per-thread allocator's is for quiescent moments only).
template <typename Heap>
void RunConcurrently(Heap& heap, bool verify_while_running,
                     std::span<const std::uint8_t> bytes) {
  using namespace concurrent_internal;

  std::atomic<Letter*> slots[kSlots] = {};
  std::atomic<long> live{0};
  std::vector<std::thread> threads;
  const std::size_t chunk = bytes.size() / kThreads;
  for (int t = 0; t < kThreads; ++t) {
    const std::size_t length =
        t == kThreads - 1 ? bytes.size() - t * chunk : chunk;
    threads.emplace_back(Worker<Heap>, std::ref(heap), verify_while_running,
                         slots, FuzzInput(bytes.data() + t * chunk, length),
                         std::uint64_t{static_cast<std::uint64_t>(t)} << 40,
                         &live);
  }
  for (std::thread& t : threads) t.join();
  const HeapReport report = heap.Verify();
  if (!report.ok()) {
    std::fprintf(stderr, "heap check failed: %s\n", report.ToString().c_str());
    std::abort();
  }
  long parked = 0;
  for (auto& slot : slots) parked += slot.load() != nullptr;
  if (heap.Stats().allocated_blocks != static_cast<std::size_t>(live.load())) {
    Fail("allocated blocks disagree with the threads' count", live.load());
  }
  for (auto& slot : slots) {
    if (Letter* l = slot.exchange(nullptr)) {
      CheckAndFree(heap, *l);
      delete l;
    }
  }
  if (heap.Stats().allocated_blocks != 0)
    Fail("blocks left after all frees", parked);
  if (!heap.Verify().ok()) Fail("Verify after all frees", 0);
}

}  // namespace rusty_malloc::fuzzing

#endif  // RUSTY_MALLOC_FUZZ_CONCURRENT_HARNESS_H_

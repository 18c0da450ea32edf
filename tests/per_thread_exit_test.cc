// What a thread's exit does beyond its own heap: it keeps the exiting mark
// through other allocators' destructors, and leaves other threads' released
// chunks alone.

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "allocator/common/tunables.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/thread_binding.h"
#include "gtest/gtest.h"
#include "testing/per_thread_lifecycle.h"
#include "testing/resident.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

// Two allocators, and a key of the program's between theirs: at thread exit
// the first allocator's destructor marks the thread exiting, then the
// program's destructor allocates from the second, whose own heap is still
// bound. Binding it must keep the mark, or the first allocator would bind a
// heap to the dead thread again instead of lending one.
struct ExitingProbe {
  PerThreadMalloc<MmapChunkSource>* second;
  bool exiting_after_binding = false;
  bool ran = false;
};

void AllocateFromSecondAtExit(void* arg) {
  auto* probe = static_cast<ExitingProbe*>(arg);
  void* block = probe->second->Allocate(16);
  probe->exiting_after_binding = per_thread_internal::tls_slot.exiting;
  probe->second->Deallocate(block);
  probe->ran = true;
}

TEST(PerThreadExitTest, ExitingMarkSurvivesBindingAnotherAllocatorsHeap) {
  auto first = std::make_unique<PerThreadMalloc<MmapChunkSource>>();
  auto second = std::make_unique<PerThreadMalloc<MmapChunkSource>>();
  // Keys in this order, so their destructors run in it: glibc takes the
  // lowest free key and runs destructors by key.
  first->Deallocate(first->Allocate(16));
  pthread_key_t key;
  ASSERT_EQ(pthread_key_create(&key, &AllocateFromSecondAtExit), 0);
  second->Deallocate(second->Allocate(16));
  ExitingProbe probe{second.get()};
  std::thread([&] {
    // The TLS slot ends holding the first's heap, which its destructor
    // clears: the second's is found again through its key, and bound.
    second->Deallocate(second->Allocate(16));
    first->Deallocate(first->Allocate(16));
    pthread_setspecific(key, &probe);
  }).join();
  pthread_key_delete(key);
  ASSERT_TRUE(probe.ran);
  EXPECT_TRUE(probe.exiting_after_binding);
}

// A thread's exit touches only its own heap: even with a purge due, it
// leaves alone the chunks other threads released, which stay committed for
// reuse until their own delay is over (an exit used to decommit them all).
TEST(PerThreadExitTest, ExitLeavesOtherThreadsReleasedChunksCommitted) {
  Tunables& tunables = TheTunables();
  const std::int64_t saved = tunables.purge_delay_ns.load();
  constexpr std::int64_t kDelayNs = 300'000'000;
  tunables.purge_delay_ns.store(kDelayNs);
  auto heap = std::make_unique<PerThreadMalloc<MmapChunkSource>>();
  std::atomic<int> step{0};
  std::thread exiting([&] {
    // A page emptied behind its queue's front: a purge falls due.
    const int cls = SizeClassOf(kRequest);
    std::vector<void*> blocks(2 * kPageSize / ClassSize(cls));
    for (void*& b : blocks) b = heap->Allocate(kRequest);
    for (void* b : blocks) heap->Deallocate(b);
    step = 1;
    while (step.load() != 2) std::this_thread::yield();
  });
  while (step.load() != 1) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::nanoseconds(kDelayNs) +
                              std::chrono::milliseconds(50));
  // Released just now: committed for another purge delay.
  void* chunk = heap->source().AllocateChunk();
  ASSERT_NE(chunk, nullptr);
  std::memset(chunk, 1, kChunkSize);
  heap->source().ReleaseChunk(chunk);
  const std::size_t resident = ResidentPages(chunk, kChunkSize);
  step = 2;
  exiting.join();
  EXPECT_GT(resident, 0u);
  EXPECT_EQ(ResidentPages(chunk, kChunkSize), resident);
  tunables.purge_delay_ns.store(saved);
}

}  // namespace
}  // namespace rusty_malloc::testing

// Uses a RustyMalloc over an mmap range as a local allocator shared by a few
// threads, then checks the heap. Exits non-zero if anything is off.

#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "allocator/rusty_malloc.h"
#include "growers/mmap_grower.h"

int main() {
  rusty_malloc::RustyMalloc<rusty_malloc::MmapGrower> heap(
      rusty_malloc::MmapGrower(std::size_t{1} << 30));
  std::vector<std::thread> threads;
  bool ok[4] = {};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&heap, &ok, t] {
      std::vector<void*> blocks;
      for (int i = 0; i < 1000; ++i) {
        void* p = heap.Allocate(16 + i % 200);
        if (p == nullptr) return;
        std::memset(p, t, 16);
        blocks.push_back(p);
      }
      for (void* p : blocks) {
        if (static_cast<unsigned char*>(p)[15] != t) return;
        heap.Deallocate(p);
      }
      ok[t] = true;
    });
  }
  for (std::thread& thread : threads) thread.join();
  const rusty_malloc::HeapReport report = heap.Verify();
  const rusty_malloc::HeapStats stats = heap.Stats();
  const bool all_ok = ok[0] && ok[1] && ok[2] && ok[3] && report.ok() &&
                      stats.allocated_blocks == 0;
  std::printf("consumer: %s (heap %zu bytes, %zu free blocks)\n",
              all_ok ? "ok" : "FAILED", stats.heap_bytes, stats.free_blocks);
  return all_ok ? 0 : 1;
}

// A RustyMalloc over an mmap range as a local allocator: allocate, write,
// free, and check the heap. Exits non-zero if anything is off.

#include <cstdio>
#include <cstring>
#include <vector>

#include "allocator/rusty_malloc.h"
#include "growers/mmap_grower.h"

int main() {
  rusty_malloc::RustyMalloc<rusty_malloc::MmapGrower> heap(
      rusty_malloc::MmapGrower(std::size_t{1} << 26));
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) {
    void* p = heap.Allocate(16 + i % 200);
    if (p == nullptr) return 1;
    std::memset(p, i & 0xff, 16);
    blocks.push_back(p);
  }
  for (void* p : blocks) heap.Deallocate(p);
  const bool ok = heap.Verify().ok() && heap.Stats().allocated_blocks == 0;
  std::printf("local_heap_test: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

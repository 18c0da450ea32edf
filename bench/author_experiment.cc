// The original crate author's experiment, reproduced: N threads each grow
// vectors of 1025 u32 one push at a time (realloc on every doubling, as
// Rust's Vec does), through the system allocator, RawMalloc (one thread),
// RustyMalloc (1, 2, 4 and 16 threads sharing one locked heap) and the
// per-thread allocator the author called for. Prints a markdown table of
// throughput; ratios compare with the system allocator at the same thread
// count, measured in the same run.
//
// Usage: author_experiment [vectors_per_thread]

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc {
namespace {

constexpr std::uint32_t kElements = 1025;
constexpr int kRepeats = 3;

struct SystemAllocator {
  void* Reallocate(void* p, std::size_t n) { return std::realloc(p, n); }
  void Deallocate(void* p) { std::free(p); }
};

template <typename Heap>
struct HeapAllocator {
  Heap* heap;
  void* Reallocate(void* p, std::size_t n) { return heap->Reallocate(p, n); }
  void Deallocate(void* p) { heap->Deallocate(p); }
};

// One thread's share: `vectors` vectors grown to kElements and dropped.
// Returns a checksum so the work cannot be optimised away.
template <typename Alloc>
std::uint64_t GrowVectors(Alloc alloc, int vectors) {
  std::uint64_t checksum = 0;
  for (int v = 0; v < vectors; ++v) {
    std::uint32_t* data = nullptr;
    std::size_t capacity = 0;
    for (std::uint32_t i = 0; i < kElements; ++i) {
      if (i == capacity) {
        capacity = capacity == 0 ? 4 : capacity * 2;
        data = static_cast<std::uint32_t*>(
            alloc.Reallocate(data, capacity * sizeof(std::uint32_t)));
        if (data == nullptr) {
          std::fprintf(stderr, "allocation failed\n");
          std::exit(1);
        }
      }
      data[i] = i ^ static_cast<std::uint32_t>(v);
    }
    checksum += data[kElements - 1];
    alloc.Deallocate(data);
  }
  return checksum;
}

// Best of kRepeats wall times, in seconds, for `threads` threads.
template <typename Alloc>
double Measure(Alloc alloc, int threads, int vectors) {
  double best = 1e30;
  for (int r = 0; r < kRepeats; ++r) {
    std::vector<std::thread> pool;
    std::vector<std::uint64_t> sums(static_cast<std::size_t>(threads));
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        sums[static_cast<std::size_t>(t)] = GrowVectors(alloc, vectors);
      });
    }
    for (std::thread& thread : pool) thread.join();
    const std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start;
    best = std::min(best, elapsed.count());
    if (sums[0] == 42) std::puts("");  // Keeps the checksums alive.
  }
  return best;
}

void Row(const std::string& name, int threads, int vectors, double seconds,
         double system_seconds) {
  const double total = static_cast<double>(threads) * vectors;
  std::printf("| %-24s | %7d | %9.1f | %12.0f | %8.2fx |\n", name.c_str(),
              threads, seconds * 1e3, total / seconds,
              system_seconds / seconds);
}

int Main(int argc, char** argv) {
  const int vectors = argc > 1 ? std::atoi(argv[1]) : 20000;
  if (vectors <= 0) {
    std::fprintf(stderr, "usage: %s [vectors_per_thread]\n", argv[0]);
    return 2;
  }
  std::printf(
      "Each thread grows %d vectors of %u u32, one push at a time.\n"
      "Best of %d runs. Ratio: speed relative to the system allocator "
      "(glibc malloc) at the same thread count; above 1 is faster.\n\n",
      vectors, kElements, kRepeats);
  std::printf("| %-24s | %7s | %9s | %12s | %9s |\n", "allocator", "threads",
              "wall ms", "vectors/s", "vs system");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(26, '-').c_str(),
              std::string(9, '-').c_str(), std::string(11, '-').c_str(),
              std::string(14, '-').c_str(), std::string(11, '-').c_str());

  const double system_1 = Measure(SystemAllocator{}, 1, vectors);
  Row("system (glibc)", 1, vectors, system_1, system_1);
  {
    RawMalloc<MmapGrower> raw(MmapGrower(std::size_t{1} << 32));
    Row("RawMalloc", 1, vectors,
        Measure(HeapAllocator<decltype(raw)>{&raw}, 1, vectors), system_1);
  }
  for (int threads : {1, 2, 4, 16}) {
    const double system =
        threads == 1 ? system_1 : Measure(SystemAllocator{}, threads, vectors);
    if (threads != 1) Row("system (glibc)", threads, vectors, system, system);
    RustyMalloc<MmapGrower> locked(MmapGrower(std::size_t{1} << 32));
    Row("RustyMalloc (one lock)", threads, vectors,
        Measure(HeapAllocator<decltype(locked)>{&locked}, threads, vectors),
        system);
    PerThreadMalloc<MmapChunkSource> per_thread(std::size_t{4} << 30);
    Row("PerThreadMalloc", threads, vectors,
        Measure(HeapAllocator<decltype(per_thread)>{&per_thread}, threads,
                vectors),
        system);
  }
  std::printf("\nhardware threads: %u\n", std::thread::hardware_concurrency());
  return 0;
}

}  // namespace
}  // namespace rusty_malloc

int main(int argc, char** argv) { return rusty_malloc::Main(argc, argv); }

// One benchmark program for every allocator: it calls plain malloc, realloc
// and free, and the suite (tools/benchmark_suite.sh) runs it under each
// allocator through LD_PRELOAD, so all of them run the same binary.
//
// Usage: alloc_bench WORKLOAD THREADS OPS_PER_THREAD
//   vectors            the original author's experiment: grow vectors of
//                      1025 u32 one push at a time (realloc on doubling)
//   producer_consumer  half the threads allocate, the other half free what
//                      they are handed (every free is a remote free)
//   mixed              8 B to 1 MiB, mostly small, over a long-lived working
//                      set of 2000 blocks per thread
//   fastpath           malloc(32) then free, in a loop
//   large_loop         blocks of 5 to 25 MiB, a byte written per page, then
//                      freed
//   remote_then_other  per thread: OPS blocks of 64 B freed by a helper
//                      thread, then OPS / 2 blocks of 128 B (the second
//                      phase can reuse the first's memory only if the
//                      allocator takes remote frees back)
//   batchS             e.g. batch16: what glibc's bench-malloc-simple times,
//                      batches of N blocks of S bytes allocated then freed in
//                      allocation order, N = 25, 100, 400 and 1600 in turn,
//                      each N making the same number of pairs; OPS counts
//                      malloc/free pairs, rounded up to a whole batch
// Prints one line:
//   WORKLOAD THREADS WALL_SECONDS OPS_PER_SECOND PEAK_RSS_KIB
//   RESIDENT_BEFORE_KIB RESIDENT_AFTER_KIB
// (the last two appended, so readers of the first five keep working).
// RESIDENT_BEFORE_KIB is the process's anonymous resident memory (RssAnon
// in /proc/self/status: file-backed pages, the binary and its libraries,
// left out; the whole resident set from /proc/self/statm on a kernel without
// RssAnon; -1 if neither can be read) just before the workload starts, and
// after as many idle threads as it will have at once were started and
// joined (glibc's cache of thread stacks then counts in both figures).
// RESIDENT_AFTER_KIB is the same once the workload has freed everything it
// allocated and all its threads are joined, after a wait of 1.1 s (past the
// 1 s purge delay, kDefaultPurgeDelayNs), a malloc and free of 32 bytes and
// of 1 MiB from the main thread (for allocators that purge when called, on
// their small and their large paths) and 0.1 s more. The waits
// are not in WALL_SECONDS or OPS_PER_SECOND.

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

std::atomic<std::uint64_t> sink{0};

void Check(void* p) {
  if (p == nullptr) {
    std::fprintf(stderr, "allocation failed\n");
    std::exit(1);
  }
}

// Returns operations done: one per vector grown.
std::uint64_t Vectors(int, long vectors) {
  for (long v = 0; v < vectors; ++v) {
    std::uint32_t* data = nullptr;
    std::size_t capacity = 0;
    for (std::uint32_t i = 0; i < 1025; ++i) {
      if (i == capacity) {
        capacity = capacity == 0 ? 4 : capacity * 2;
        data = static_cast<std::uint32_t*>(
            std::realloc(data, capacity * sizeof(std::uint32_t)));
        Check(data);
      }
      data[i] = i;
    }
    sink += data[1024];
    std::free(data);
  }
  return static_cast<std::uint64_t>(vectors);
}

// A single-producer, single-consumer ring of blocks.
struct Ring {
  static constexpr std::size_t kSize = 1024;
  std::atomic<void*> slots[kSize] = {};
};

std::uint64_t ProducerConsumer(int thread, long ops, std::vector<Ring>* rings) {
  Ring& ring = (*rings)[static_cast<std::size_t>(thread / 2)];
  std::mt19937 random(static_cast<unsigned>(thread));
  if (thread % 2 == 0) {
    for (long i = 0; i < ops; ++i) {
      void* p = std::malloc(16 + random() % 1008);
      Check(p);
      static_cast<char*>(p)[0] = 1;
      std::atomic<void*>& slot =
          ring.slots[static_cast<std::size_t>(i) % Ring::kSize];
      while (slot.load(std::memory_order_acquire) != nullptr)
        std::this_thread::yield();
      slot.store(p, std::memory_order_release);
    }
  } else {
    for (long i = 0; i < ops; ++i) {
      std::atomic<void*>& slot =
          ring.slots[static_cast<std::size_t>(i) % Ring::kSize];
      void* p;
      while ((p = slot.load(std::memory_order_acquire)) == nullptr)
        std::this_thread::yield();
      slot.store(nullptr, std::memory_order_relaxed);
      sink += static_cast<char*>(p)[0];
      std::free(p);
    }
  }
  return static_cast<std::uint64_t>(ops);
}

std::size_t MixedSize(std::mt19937& random) {
  const unsigned bucket = random() % 1000;
  if (bucket < 800) return 8 + random() % 120;       // 80%: up to 128 B
  if (bucket < 950) return 128 + random() % 896;     // 15%: up to 1 KiB
  if (bucket < 995) return 1024 + random() % 31744;  // 4.5%: up to 32 KiB
  return 32768 + random() % (1024 * 1024 - 32768);   // 0.5%: up to 1 MiB
}

std::uint64_t Mixed(int thread, long ops) {
  constexpr std::size_t kWorkingSet = 2000;
  std::mt19937 random(static_cast<unsigned>(thread) * 7919u);
  std::vector<void*> live(kWorkingSet, nullptr);
  for (long i = 0; i < ops; ++i) {
    const std::size_t slot = random() % kWorkingSet;
    std::free(live[slot]);
    const std::size_t size = MixedSize(random);
    live[slot] = std::malloc(size);
    Check(live[slot]);
    std::memset(live[slot], 1, size < 64 ? size : 64);
  }
  for (void* p : live) std::free(p);
  return static_cast<std::uint64_t>(ops);
}

std::uint64_t LargeLoop(int thread, long blocks) {
  std::mt19937 random(static_cast<unsigned>(thread) + 1u);
  for (long i = 0; i < blocks; ++i) {
    const std::size_t size = (5 + random() % 21) << 20;
    auto* p = static_cast<char*>(std::malloc(size));
    Check(p);
    // A byte per page: the page faults of a block used whole, without the
    // memory bandwidth of filling it.
    for (std::size_t at = 0; at < size; at += 4096) p[at] = 1;
    p[size - 1] = 2;
    sink += static_cast<std::uint64_t>(p[0] + p[size - 1]);
    std::free(p);
  }
  return static_cast<std::uint64_t>(blocks);
}

std::uint64_t RemoteThenOther(int, long blocks) {
  std::vector<void*> small(static_cast<std::size_t>(blocks));
  for (void*& p : small) {
    p = std::malloc(64);
    Check(p);
    std::memset(p, 1, 64);
  }
  std::thread([&small] {
    for (void* p : small) std::free(p);
  }).join();
  std::vector<void*> larger(static_cast<std::size_t>(blocks / 2));
  for (void*& p : larger) {
    p = std::malloc(128);
    Check(p);
    std::memset(p, 2, 128);
  }
  for (void* p : larger) std::free(p);
  return static_cast<std::uint64_t>(blocks + blocks / 2);
}

std::uint64_t FastPath(int, long pairs) {
  for (long i = 0; i < pairs; ++i) {
    void* p = std::malloc(32);
    Check(p);
    // Keeps the pair from being optimised away.
    asm volatile("" : : "r"(p) : "memory");
    std::free(p);
  }
  return static_cast<std::uint64_t>(pairs);
}

// Returns pairs done: `pairs` rounded up to a whole batch.
std::uint64_t Batches(int, long pairs, std::size_t size) {
  constexpr int kLargest = 1600;
  void* blocks[kLargest];
  std::uint64_t done = 0;
  const auto target = static_cast<std::uint64_t>(pairs);
  while (done < target) {
    for (const int n : {25, 100, 400, kLargest}) {
      // kLargest / n batches of n, so that the small batches, which a
      // thread cache may hold whole, weigh as much as the large ones.
      for (int b = 0; b < kLargest / n && done < target; ++b) {
        for (int i = 0; i < n; ++i) {
          auto* p = static_cast<char*>(std::malloc(size));
          Check(p);
          // Touched, as a program would use it; kept from being elided.
          p[0] = 1;
          asm volatile("" : : "r"(p) : "memory");
          blocks[i] = p;
        }
        for (int i = 0; i < n; ++i) std::free(blocks[i]);
        done += static_cast<std::uint64_t>(n);
      }
    }
  }
  return done;
}

// The block size of a "batchS" workload; 0 if `workload` is not one.
std::size_t BatchSize(const std::string& workload) {
  constexpr std::string_view kPrefix = "batch";
  if (!workload.starts_with(kPrefix)) return 0;
  const char* first = workload.data() + kPrefix.size();
  const char* last = workload.data() + workload.size();
  std::size_t size = 0;
  const auto [end, error] = std::from_chars(first, last, size);
  return error == std::errc() && end == last ? size : 0;
}

// Reads a small /proc file into `buffer`, NUL-terminated, with read(2):
// stdio would allocate, and the reading must not disturb what it measures.
// Returns false if unreadable.
bool ReadProcFile(const char* path, char (&buffer)[8192]) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::size_t length = 0;
  while (length < sizeof(buffer) - 1) {
    const ssize_t n = read(fd, buffer + length, sizeof(buffer) - 1 - length);
    if (n <= 0) break;
    length += static_cast<std::size_t>(n);
  }
  close(fd);
  buffer[length] = '\0';
  return length > 0;
}

// The process's anonymous resident memory in KiB (see the output line at the
// top); -1 if unreadable.
long ResidentKib() {
  char buffer[8192];
  if (ReadProcFile("/proc/self/status", buffer)) {
    // "RssAnon:\t    1234 kB"
    if (const char* at = std::strstr(buffer, "\nRssAnon:")) {
      return std::strtol(at + std::strlen("\nRssAnon:"), nullptr, 10);
    }
  }
  unsigned long size = 0, resident = 0;
  if (!ReadProcFile("/proc/self/statm", buffer) ||
      std::sscanf(buffer, "%lu %lu", &size, &resident) != 2) {
    return -1;
  }
  return static_cast<long>(
      resident * static_cast<unsigned long>(sysconf(_SC_PAGESIZE)) / 1024);
}

void* Idle(void*) { return nullptr; }

// Starts `count` threads that do nothing, all alive at once, and joins them.
// glibc keeps the stacks of joined threads (up to 40 MiB of them) with the
// few pages each used still resident; done before RESIDENT_BEFORE_KIB, the
// workload's threads reuse them, so those pages count in both figures, not as
// memory the allocator kept. Plain pthreads, so that the threads never call
// the allocator (std::thread's state is freed by the new thread).
void WarmThreadStacks(int count) {
  std::vector<pthread_t> ids(static_cast<std::size_t>(count));
  for (pthread_t& id : ids) {
    if (pthread_create(&id, nullptr, Idle, nullptr) != 0) {
      std::fprintf(stderr, "pthread_create failed\n");
      std::exit(1);
    }
  }
  for (pthread_t id : ids) pthread_join(id, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s WORKLOAD THREADS OPS_PER_THREAD\n",
                 argv[0]);
    return 2;
  }
  const std::string workload = argv[1];
  int threads = std::atoi(argv[2]);
  const long ops = std::atol(argv[3]);
  const std::size_t batch_size = BatchSize(workload);
  if (workload == "producer_consumer" && threads % 2 == 1) ++threads;
  // As many as are alive at once: remote_then_other's threads each start a
  // helper.
  WarmThreadStacks(2 * threads);
  const long resident_before = ResidentKib();
  // Only producer_consumer's: another workload's resident memory after
  // freeing everything should not depend on how an allocator keeps them.
  std::vector<Ring> rings(workload == "producer_consumer"
                              ? static_cast<std::size_t>(threads / 2)
                              : 0);
  std::atomic<std::uint64_t> done{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::uint64_t n = 0;
      if (workload == "vectors") {
        n = Vectors(t, ops);
      } else if (workload == "producer_consumer") {
        n = ProducerConsumer(t, ops, &rings);
      } else if (workload == "mixed") {
        n = Mixed(t, ops);
      } else if (workload == "fastpath") {
        n = FastPath(t, ops);
      } else if (workload == "large_loop") {
        n = LargeLoop(t, ops);
      } else if (workload == "remote_then_other") {
        n = RemoteThenOther(t, ops);
      } else if (batch_size > 0) {
        n = Batches(t, ops, batch_size);
      } else {
        std::fprintf(stderr, "unknown workload %s\n", workload.c_str());
        std::exit(2);
      }
      done += n;
    });
  }
  for (std::thread& t : pool) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  // The rings and the pool are the workload's too: everything it allocated
  // is freed now (each workload frees its own blocks).
  std::vector<Ring>().swap(rings);
  std::vector<std::thread>().swap(pool);
  // Past the purge delay, then some activity for allocators that purge only
  // when called, then a moment for any purge that activity started.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  for (const std::size_t size : {std::size_t{32}, std::size_t{1} << 20}) {
    void* poke = std::malloc(size);
    Check(poke);
    asm volatile("" : : "r"(poke) : "memory");
    std::free(poke);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const long resident_after = ResidentKib();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%s %d %.4f %.0f %ld %ld %ld\n", workload.c_str(), threads,
              seconds, static_cast<double>(done.load()) / seconds,
              usage.ru_maxrss, resident_before, resident_after);
  return 0;
}

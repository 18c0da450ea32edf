// One benchmark program for every allocator: it calls plain malloc, realloc
// and free, and the suite (bench/run_suite.sh) runs it under each
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
//   larson             the shape of Larson's server benchmark: each thread
//                      owns 1000 slots of blocks of 8 to 1000 bytes and
//                      replaces a random slot's block (free, then malloc of
//                      a random size, written) OPS times in all; every
//                      20,000 replacements (a generation) it starts a
//                      successor thread that goes on with the same slots,
//                      and exits, so most frees are of blocks a thread that
//                      has exited allocated. The main thread fills the slots
//                      before the clock starts (so generation 0 frees remote
//                      blocks too); the last generation frees them all.
//                      OPS_PER_SECOND counts replacements.
//   prodcons_1n        one producer allocates OPS blocks of 16 to 512 bytes
//                      (written) and hands them out in turn to THREADS - 1
//                      consumers, which free them
//   prodcons_n1        THREADS - 1 producers allocate OPS blocks in all and
//                      hand them to one consumer, which frees them all
//                      For both, OPS is what the lone thread does (so a run
//                      takes about as long at any thread count), and
//                      OPS_PER_SECOND counts blocks allocated and freed; at 1
//                      thread, the one thread allocates 256 blocks and frees
//                      them, in turn. The handoff is a mutex-protected queue
//                      of batches of 256 blocks, one per consumer
//                      (prodcons_1n) or one all producers share
//                      (prodcons_n1), chosen over a lock-free ring because a
//                      thread with nothing to do must sleep, not spin, when
//                      16 threads share 2 cores. The lock is taken once a
//                      batch; a producer waits while 8 batches are queued,
//                      and a consumer that finds its queue empty sleeps
//                      until 4 are, so that waking it costs little a block.
//                      With malloc and free left out, handing a block over
//                      cost 3 to 10 ns more than allocating and freeing it
//                      in one thread, on the shared 2-core VM this was
//                      written on, where a pair with a remote free costs 20
//                      to 100 ns.
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
// allocated and all its threads are joined (or, larson's last generations,
// have counted themselves done), after a wait of 1.1 s (past the
// 1 s purge delay, kDefaultPurgeDelayNs), a malloc and free of 32 bytes and
// of 1 MiB from the main thread (for allocators that purge when called, on
// their small and their large paths) and 0.1 s more. The waits
// are not in WALL_SECONDS or OPS_PER_SECOND.

#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
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

// Marsaglia's xorshift64 generator: three shifts and xors a number, cheap
// next to a malloc/free pair.
class Random {
 public:
  // Any seed: a zero state would stay zero, so the seed is mixed with an
  // odd constant and made nonzero.
  explicit Random(std::uint64_t seed)
      : state_((seed + 1) * 0x9e3779b97f4a7c15u | 1) {}

  std::uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }

  // Uniform in [0, n) from 32 random bits: a multiply, not a division.
  static std::size_t Below(std::uint32_t bits, std::size_t n) {
    return static_cast<std::size_t>((std::uint64_t{bits} * n) >> 32);
  }

 private:
  std::uint64_t state_;
};

// One larson thread's slots, handed from each generation to the next.
struct LarsonChain {
  static constexpr std::size_t kSlots = 1000;
  static constexpr std::size_t kMinSize = 8;
  static constexpr std::size_t kMaxSize = 1000;
  static constexpr long kPairsPerGeneration = 20 * kSlots;

  void* slots[kSlots] = {};
  Random random{0};
  long left = 0;  // replacements still to do, over all generations
  std::atomic<int>* running = nullptr;  // chains not finished
};

// A block of a random larson size, written at both ends.
void* LarsonBlock(std::uint32_t bits) {
  const std::size_t size =
      LarsonChain::kMinSize +
      Random::Below(bits, LarsonChain::kMaxSize - LarsonChain::kMinSize + 1);
  auto* p = static_cast<char*>(std::malloc(size));
  Check(p);
  p[0] = 1;
  p[size - 1] = 2;
  return p;
}

// The main thread's part: fills the slots before the clock starts.
void LarsonFill(LarsonChain* chain) {
  for (void*& slot : chain->slots) {
    slot = LarsonBlock(static_cast<std::uint32_t>(chain->random.Next()));
  }
}

// One generation: its replacements, then a successor thread with the same
// slots, or, for the last, every block freed and the chain counted done.
void LarsonGeneration(LarsonChain* chain) {
  const long pairs = std::min(chain->left, LarsonChain::kPairsPerGeneration);
  Random random = chain->random;
  for (long i = 0; i < pairs; ++i) {
    const std::uint64_t bits = random.Next();
    void*& slot = chain->slots[Random::Below(
        static_cast<std::uint32_t>(bits >> 32), LarsonChain::kSlots)];
    std::free(slot);
    slot = LarsonBlock(static_cast<std::uint32_t>(bits));
  }
  chain->random = random;
  chain->left -= pairs;
  if (chain->left > 0) {
    std::thread(LarsonGeneration, chain).detach();
    return;
  }
  for (void*& slot : chain->slots) {
    std::free(slot);
    slot = nullptr;
  }
  // The main thread may free the chain once the count reaches 0.
  std::atomic<int>* running = chain->running;
  if (running->fetch_sub(1) == 1) running->notify_all();
}

// Blocks handed from producers to one consumer in batches (see the usage
// comment at the top): a mutex-protected queue of at most kDepth batches of
// up to kBatch blocks.
class Handoff {
 public:
  static constexpr int kBatch = 256;
  static constexpr int kDepth = 8;
  // A consumer that finds the queue empty sleeps until this many batches
  // are queued (or every producer has closed it): a wake, a system call and
  // a context switch, per kWake batches rather than per batch.
  static constexpr unsigned kWake = 4;

  // Before any thread uses it: how many producers will Close() it.
  void set_producers(int producers) { producers_ = producers; }

  // Queues `count` blocks, waiting while kDepth batches are queued.
  void Put(void* const* blocks, int count) {
    bool wake;
    {
      std::unique_lock lock(mutex_);
      not_full_.wait(lock, [this] { return put_ - taken_ < kDepth; });
      std::memcpy(batches_[put_ % kDepth], blocks, sizeof(void*) * count);
      counts_[put_ % kDepth] = count;
      ++put_;
      // Only a consumer that found the queue empty waits, so the count
      // passes kWake while it does.
      wake = put_ - taken_ == kWake;
    }
    if (wake) not_empty_.notify_one();
  }

  // Moves the oldest batch into `blocks` and returns its size, waiting for
  // one; 0 once every producer has closed and none is left.
  int Take(void** blocks) {
    int count;
    {
      std::unique_lock lock(mutex_);
      if (put_ == taken_) {
        not_empty_.wait(
            lock, [this] { return put_ - taken_ >= kWake || producers_ == 0; });
      }
      if (put_ == taken_) return 0;
      count = counts_[taken_ % kDepth];
      std::memcpy(blocks, batches_[taken_ % kDepth], sizeof(void*) * count);
      ++taken_;
    }
    not_full_.notify_one();
    return count;
  }

  // A producer is done.
  void Close() {
    {
      std::lock_guard lock(mutex_);
      --producers_;
    }
    not_empty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  void* batches_[kDepth][kBatch];
  int counts_[kDepth] = {};
  unsigned put_ = 0;    // batches queued so far
  unsigned taken_ = 0;  // batches taken so far
  int producers_ = 1;
};

// A prodcons block: 16 to 512 bytes, written at both ends.
void* ProdconsBlock(Random& random) {
  const std::size_t size =
      16 + Random::Below(static_cast<std::uint32_t>(random.Next()), 497);
  auto* p = static_cast<char*>(std::malloc(size));
  Check(p);
  p[0] = 1;
  p[size - 1] = 2;
  return p;
}

// Allocates `blocks` blocks and hands them out in batches, to
// `handoffs[0..count)` in turn, then closes those.
void Produce(int thread, long blocks, Handoff* handoffs, int count) {
  Random random(static_cast<std::uint64_t>(thread));
  void* batch[Handoff::kBatch];
  int size = 0;
  int next = 0;
  for (long i = 0; i < blocks; ++i) {
    batch[size++] = ProdconsBlock(random);
    if (size == Handoff::kBatch || i + 1 == blocks) {
      handoffs[next].Put(batch, size);
      next = (next + 1) % count;
      size = 0;
    }
  }
  for (int i = 0; i < count; ++i) handoffs[i].Close();
}

// Frees what `handoff` hands over until its producers are done; returns
// the blocks freed.
std::uint64_t Consume(Handoff& handoff) {
  void* batch[Handoff::kBatch];
  std::uint64_t freed = 0;
  std::uint64_t read = 0;
  while (const int size = handoff.Take(batch)) {
    for (int i = 0; i < size; ++i) {
      read += static_cast<unsigned char>(static_cast<char*>(batch[i])[0]);
      std::free(batch[i]);
    }
    freed += static_cast<std::uint64_t>(size);
  }
  sink += read;
  return freed;
}

// prodcons_1n and prodcons_n1 with one thread: batches of kBatch blocks
// allocated, then freed, in turn.
std::uint64_t ProdconsAlone(long blocks) {
  Random random(0);
  void* batch[Handoff::kBatch];
  std::uint64_t read = 0;
  for (long done = 0; done < blocks;) {
    const int size =
        static_cast<int>(std::min<long>(Handoff::kBatch, blocks - done));
    for (int i = 0; i < size; ++i) batch[i] = ProdconsBlock(random);
    for (int i = 0; i < size; ++i) {
      read += static_cast<unsigned char>(static_cast<char*>(batch[i])[0]);
      std::free(batch[i]);
    }
    done += size;
  }
  sink += read;
  return static_cast<std::uint64_t>(blocks);
}

// Thread `thread` of `threads` in prodcons_1n: thread 0 produces `blocks`
// for the others, one Handoff each. Returns the blocks it produced.
std::uint64_t ProdconsOneToMany(int thread, int threads, long blocks,
                                std::vector<Handoff>* handoffs) {
  if (threads == 1) return ProdconsAlone(blocks);
  if (thread == 0) {
    Produce(thread, blocks, handoffs->data(), threads - 1);
    return static_cast<std::uint64_t>(blocks);
  }
  Consume((*handoffs)[static_cast<std::size_t>(thread - 1)]);
  return 0;
}

// Thread `thread` of `threads` in prodcons_n1: thread 0 frees the `blocks`
// the others produce, all through the one Handoff. Returns the blocks it
// freed.
std::uint64_t ProdconsManyToOne(int thread, int threads, long blocks,
                                std::vector<Handoff>* handoffs) {
  if (threads == 1) return ProdconsAlone(blocks);
  Handoff& handoff = (*handoffs)[0];
  if (thread == 0) return Consume(handoff);
  const long producers = threads - 1;
  const long share = blocks / producers + (thread - 1 < blocks % producers);
  Produce(thread, share, &handoff, 1);
  return 0;
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
  const bool prodcons_1n = workload == "prodcons_1n";
  const bool prodcons_n1 = workload == "prodcons_n1";
  const bool larson = workload == "larson";
  // As many as are alive at once: remote_then_other's threads each start a
  // helper, and a larson generation starts its successor before it exits.
  WarmThreadStacks(2 * threads);
  const long resident_before = ResidentKib();
  // Each only its workload's: another workload's resident memory after
  // freeing everything should not depend on how an allocator keeps them.
  std::vector<Ring> rings(workload == "producer_consumer"
                              ? static_cast<std::size_t>(threads / 2)
                              : 0);
  std::vector<Handoff> handoffs(prodcons_1n && threads > 1
                                    ? static_cast<std::size_t>(threads - 1)
                                : prodcons_n1 && threads > 1 ? 1
                                                             : 0);
  if (prodcons_n1 && threads > 1) handoffs[0].set_producers(threads - 1);
  std::atomic<int> larson_running{larson ? threads : 0};
  std::vector<LarsonChain> chains(larson ? static_cast<std::size_t>(threads)
                                         : 0);
  for (std::size_t c = 0; c < chains.size(); ++c) {
    chains[c].random = Random(c);
    chains[c].left = ops;
    chains[c].running = &larson_running;
    LarsonFill(&chains[c]);
  }
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
      } else if (prodcons_1n) {
        n = ProdconsOneToMany(t, threads, ops, &handoffs);
      } else if (prodcons_n1) {
        n = ProdconsManyToOne(t, threads, ops, &handoffs);
      } else if (larson) {
        // Generation 0; the chain's last generation counts it done.
        LarsonGeneration(&chains[static_cast<std::size_t>(t)]);
        n = static_cast<std::uint64_t>(ops);
      } else {
        std::fprintf(stderr, "unknown workload %s\n", workload.c_str());
        std::exit(2);
      }
      done += n;
    });
  }
  for (std::thread& t : pool) t.join();
  // Larson's last generations are detached threads.
  for (int running; (running = larson_running.load()) != 0;) {
    larson_running.wait(running);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  // The rings, handoffs, chains and the pool are the workload's too:
  // everything it allocated is freed now (each workload frees its own
  // blocks).
  std::vector<Ring>().swap(rings);
  std::vector<Handoff>().swap(handoffs);
  std::vector<LarsonChain>().swap(chains);
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

#ifndef RUSTY_MALLOC_TESTING_STRESS_H_
#define RUSTY_MALLOC_TESTING_STRESS_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/patterns.h"

namespace rusty_malloc::testing {

// The original crate's multi-threaded test, made to check what it stores:
// each of 16 threads grows vectors of 1025 u32 through the shared allocator
// (realloc on every doubling, as Vec does), keeps a set of pattern-filled
// blocks, and hands blocks to other threads to check and free.
class Mailbox {
 public:
  struct Letter {
    void* block;
    std::size_t size;
    std::uint64_t id;
  };
  void Post(Letter letter) {
    std::lock_guard<std::mutex> lock(mu_);
    letters_.push_back(letter);
  }
  bool Take(Letter* letter) {
    std::lock_guard<std::mutex> lock(mu_);
    if (letters_.empty()) return false;
    *letter = letters_.back();
    letters_.pop_back();
    return true;
  }

 private:
  // A pthread mutex, which TSan models natively; absl::Mutex's waiter
  // handoff on LowLevelAlloc memory is reported as a race under TSan.
  std::mutex mu_;
  std::vector<Letter> letters_;
};

inline std::uint32_t Element(std::uint32_t thread, std::uint32_t round,
                             std::uint32_t i) {
  return thread << 24 ^ round << 12 ^ i;
}

template <typename Heap>
void RunVectorStress(Heap& heap) {
  constexpr int kThreads = 16;
  constexpr int kRounds = 150;
  constexpr std::uint32_t kElements = 1025;
  Mailbox mailbox;
  std::atomic<int> failures{0};
  auto fail = [&failures](const char* what, std::uint64_t detail) {
    if (failures.fetch_add(1) < 10) ADD_FAILURE() << what << " " << detail;
  };

  auto worker = [&](std::uint32_t thread) {
    std::mt19937_64 random(thread);
    std::vector<Mailbox::Letter> kept;
    std::uint64_t next_id = std::uint64_t{thread} << 40;
    for (std::uint32_t round = 0; round < kRounds; ++round) {
      std::uint32_t* data = nullptr;
      std::size_t capacity = 0;
      for (std::uint32_t i = 0; i < kElements; ++i) {
        if (i == capacity) {
          capacity = capacity == 0 ? 4 : 2 * capacity;
          data = static_cast<std::uint32_t*>(
              heap.Reallocate(data, capacity * sizeof(std::uint32_t)));
          if (data == nullptr) return fail("realloc failed", capacity);
        }
        data[i] = Element(thread, round, i);
      }
      for (std::uint32_t i = 0; i < kElements; ++i) {
        if (data[i] != Element(thread, round, i)) fail("vector element", i);
      }
      heap.Deallocate(data);

      const std::size_t size = random() % 512;
      void* block = heap.Allocate(size);
      if (block == nullptr) return fail("allocate failed", size);
      FillPattern(block, size, next_id);
      kept.push_back({block, size, next_id++});
      if (random() % 3 == 0) {
        mailbox.Post(kept.back());
        kept.pop_back();
      }
      Mailbox::Letter letter;
      if (random() % 2 == 0 && mailbox.Take(&letter)) kept.push_back(letter);
      if (kept.size() > 8) {
        const std::size_t victim = random() % kept.size();
        const Mailbox::Letter& l = kept[victim];
        if (FirstPatternMismatch(l.block, l.size, l.id) != l.size) {
          fail("block pattern", l.id);
        }
        heap.Deallocate(l.block);
        kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(victim));
      }
    }
    for (const Mailbox::Letter& l : kept) {
      if (FirstPatternMismatch(l.block, l.size, l.id) != l.size) {
        fail("block pattern at exit", l.id);
      }
      heap.Deallocate(l.block);
    }
  };

  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (std::thread& t : threads) t.join();
  Mailbox::Letter letter;
  while (mailbox.Take(&letter)) {
    EXPECT_EQ(FirstPatternMismatch(letter.block, letter.size, letter.id),
              letter.size);
    heap.Deallocate(letter.block);
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().ToString();
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_STRESS_H_

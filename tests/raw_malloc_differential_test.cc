// Long random operation sequences against RawMalloc, checked step by step
// against a model of what should be live: every block is pattern-filled and
// checked before it is freed and after it is moved, no two live blocks
// overlap, and Verify() runs after every operation.

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "allocator/freelist.h"
#include "allocator/raw_malloc.h"
#include "gtest/gtest.h"
#include "tests/patterns.h"
#include "tests/test_growers.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::FillPattern;
using ::rusty_malloc::testing::FirstPatternMismatch;
using ::rusty_malloc::testing::TestGrower;

struct Live {
  std::byte* ptr;
  std::size_t size;
  std::uint64_t id;
};

template <typename Index>
class Model {
 public:
  Model(std::uint64_t seed, RawMallocOptions options)
      : random_(seed), heap_(TestGrower(16 << 20), options) {}

  void Step() {
    const unsigned op = random_() % 100;
    if (op < 45 || live_.empty()) {
      Allocate();
    } else if (op < 80) {
      Free(random_() % live_.size());
    } else {
      Reallocate(random_() % live_.size());
    }
    const HeapReport report = heap_.Verify();
    ASSERT_TRUE(report.ok())
        << "after step " << steps_ << ": " << report.ToString();
    ASSERT_EQ(heap_.Stats().allocated_blocks, live_.size());
    ++steps_;
  }

  void FreeAll() {
    while (!live_.empty()) Free(live_.size() - 1);
    ASSERT_TRUE(heap_.Verify().ok());
  }

 private:
  std::size_t RandomSize() {
    const unsigned bucket = random_() % 100;
    if (bucket < 70) return random_() % 128;
    if (bucket < 90) return random_() % 4096;
    if (bucket < 99) return random_() % 65536;
    return random_() % (1 << 20);
  }
  std::size_t RandomAlign() {
    if (random_() % 5 != 0) return kGranule;
    return std::size_t{1} << (random_() % 17);  // 1 to 64 KiB.
  }

  // Checks `ptr` is aligned and overlaps no live block, then records it.
  void Admit(std::byte* ptr, std::size_t size, std::size_t align) {
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(ptr) % align, 0u);
    const std::size_t usable = heap_.UsableSize(ptr);
    ASSERT_GE(usable, size);
    auto next = ranges_.lower_bound(ptr);
    if (next != ranges_.end()) {
      ASSERT_LE(ptr + usable, next->first) << "overlaps the next live block";
    }
    if (next != ranges_.begin()) {
      ASSERT_LE(std::prev(next)->second, ptr) << "overlaps the previous block";
    }
    ranges_[ptr] = ptr + usable;
    const std::uint64_t id = next_id_++;
    FillPattern(ptr, size, id);
    live_.push_back({ptr, size, id});
  }

  void Allocate() {
    const std::size_t size = RandomSize();
    const std::size_t align = RandomAlign();
    const HeapStats before = heap_.Stats();
    auto* ptr = static_cast<std::byte*>(heap_.Allocate(size, align));
    if (ptr == nullptr) {
      // Only a full grower may refuse, and a refusal changes nothing.
      ASSERT_GT(size + align, heap_.grower().Size() / 64);
      ASSERT_EQ(heap_.Stats().allocated_bytes, before.allocated_bytes);
      return;
    }
    Admit(ptr, size, align);
  }

  void Free(std::size_t index) {
    const Live block = live_[index];
    ASSERT_EQ(FirstPatternMismatch(block.ptr, block.size, block.id), block.size)
        << "block " << block.id << " damaged before free";
    heap_.Deallocate(block.ptr);
    ranges_.erase(block.ptr);
    live_[index] = live_.back();
    live_.pop_back();
  }

  void Reallocate(std::size_t index) {
    const Live block = live_[index];
    const std::size_t size = RandomSize();
    const std::size_t align = RandomAlign();
    auto* ptr =
        static_cast<std::byte*>(heap_.Reallocate(block.ptr, size, align));
    if (ptr == nullptr) {
      ASSERT_EQ(FirstPatternMismatch(block.ptr, block.size, block.id),
                block.size)
          << "failed realloc damaged block " << block.id;
      return;
    }
    const std::size_t kept = std::min(size, block.size);
    ASSERT_EQ(FirstPatternMismatch(ptr, kept, block.id), kept)
        << "realloc lost the contents of block " << block.id;
    ranges_.erase(block.ptr);
    live_[index] = live_.back();
    live_.pop_back();
    Admit(ptr, size, align);
  }

  std::mt19937_64 random_;
  RawMalloc<TestGrower, Index> heap_;
  std::vector<Live> live_;
  std::map<std::byte*, std::byte*> ranges_;
  std::uint64_t next_id_ = 0;
  std::uint64_t steps_ = 0;
};

RawMallocOptions Trimming(bool trim) {
  RawMallocOptions options;
  if (trim) {
    options.trim_threshold = 64 * 1024;
    options.top_pad = 16 * 1024;
  } else {
    options.trim_threshold = SIZE_MAX;
  }
  return options;
}

class FirstFitDifferentialTest
    : public ::testing::TestWithParam<std::tuple<std::uint64_t, bool>> {};

TEST_P(FirstFitDifferentialTest, MatchesTheModel) {
  const auto [seed, trim] = GetParam();
  Model<FreeList> model(seed, Trimming(trim));
  for (int i = 0; i < 4000; ++i) {
    model.Step();
    if (::testing::Test::HasFatalFailure()) return;
  }
  model.FreeAll();
}

INSTANTIATE_TEST_SUITE_P(Seeds, FirstFitDifferentialTest,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4),
                                            ::testing::Bool()));

}  // namespace
}  // namespace rusty_malloc

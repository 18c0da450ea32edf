#ifndef RUSTY_MALLOC_TESTING_HEAP_MODEL_H_
#define RUSTY_MALLOC_TESTING_HEAP_MODEL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "allocator/contiguous/header.h"
#include "allocator/contiguous/raw_malloc.h"
#include "testing/no_coverage.h"
#include "testing/patterns.h"

namespace rusty_malloc::testing {

#if defined(__clang__)
#define RUSTY_MALLOC_MODEL_SHIFT \
  __attribute__((no_sanitize("address"), no_builtin("memmove")))
#else
#define RUSTY_MALLOC_MODEL_SHIFT __attribute__((no_sanitize("address")))
#endif

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // The model is not what is tested.

// Drives a heap (RawMalloc or RustyMalloc) and checks it against a model of
// what should be live. Every live block is filled with a pattern derived
// from its id; the pattern is checked before the block is freed and after
// it is moved; no two live blocks may overlap; requests the contract says
// must fail (bad alignment, unrepresentable size) must fail, and a failed
// request must leave the heap as it was. Each operation returns "" or what
// went wrong, so a gtest test can assert on it and a fuzzer can abort with
// it.
template <typename Heap>
class HeapModel {
 public:
  explicit HeapModel(Heap& heap) : heap_(heap) {}

  std::size_t live() const { return live_.size(); }

  std::string Allocate(std::size_t size, std::size_t align) {
    const bool must_fail = !IsValidAlignment(align) || BlockSizeFor(size) == 0;
    auto* ptr = static_cast<std::byte*>(heap_.Allocate(size, align));
    if (ptr == nullptr) return Unchanged("allocate");
    if (must_fail)
      return Describe("allocate accepted a bad request", size, align);
    return Admit(ptr, size, align);
  }

  // realloc(nullptr, ...): must behave as Allocate.
  std::string ReallocateNull(std::size_t size, std::size_t align) {
    const bool must_fail = !IsValidAlignment(align) || BlockSizeFor(size) == 0;
    auto* ptr = static_cast<std::byte*>(heap_.Reallocate(nullptr, size, align));
    if (ptr == nullptr) return Unchanged("realloc of null");
    if (must_fail)
      return Describe("realloc of null accepted a bad request", size, align);
    return Admit(ptr, size, align);
  }

  // Frees the live block at `index` modulo the live count.
  std::string Free(std::size_t index) {
    if (live_.empty()) return "";
    index %= live_.size();
    const Live block = live_[index];
    if (FirstPatternMismatch(block.ptr, block.size, block.id) != block.size) {
      return Describe("block damaged before free", block.size, block.id);
    }
    heap_.Deallocate(block.ptr);
    Forget(index);
    return "";
  }

  // Reallocates the live block at `index` modulo the live count.
  std::string Reallocate(std::size_t index, std::size_t size,
                         std::size_t align) {
    if (live_.empty()) return Allocate(size, align);
    index %= live_.size();
    const Live block = live_[index];
    const bool must_fail = !IsValidAlignment(align) || BlockSizeFor(size) == 0;
    auto* ptr =
        static_cast<std::byte*>(heap_.Reallocate(block.ptr, size, align));
    if (ptr == nullptr) {
      if (FirstPatternMismatch(block.ptr, block.size, block.id) != block.size) {
        return Describe("failed realloc damaged the block", size, align);
      }
      if (heap_.UsableSize(block.ptr) < block.size) {
        return Describe("failed realloc shrank the block", size, align);
      }
      return Unchanged("realloc");
    }
    if (must_fail)
      return Describe("realloc accepted a bad request", size, align);
    const std::size_t kept = std::min(size, block.size);
    if (FirstPatternMismatch(ptr, kept, block.id) != kept) {
      return Describe("realloc lost contents", size, align);
    }
    Forget(index);
    return Admit(ptr, size, align);
  }

  std::string CheckUsableSize(std::size_t index) {
    if (live_.empty()) return "";
    const Live& block = live_[index % live_.size()];
    if (heap_.UsableSize(block.ptr) < block.size) {
      return Describe("usable size below the request", block.size, block.id);
    }
    return "";
  }

  // Verify() and a block count that matches the model.
  std::string Check() {
    unchecked_ = 0;
    const char* const failed_op = std::exchange(failed_op_, nullptr);
    const HeapReport report = heap_.Verify();
    if (!report.ok()) return "Verify: " + report.ToString();
    const HeapStats stats = heap_.Stats();
    if (stats.allocated_blocks != live_.size()) {
      if (failed_op != nullptr) {
        return std::string(
                   "allocated block count disagrees with the model "
                   "after a refused ") +
               failed_op;
      }
      return Describe("allocated block count disagrees with the model",
                      stats.allocated_blocks, live_.size());
    }
    if (stats.allocated_bytes + stats.free_bytes + stats.overhead_bytes !=
        stats.heap_bytes) {
      return "stats do not add up to the heap size";
    }
    return "";
  }

  // Check() when it is due: once the operations since the last check reach
  // live() / kCheckSpacing. Check() walks the whole heap; this way a long
  // run pays a bounded number of block visits per operation, and damage
  // (a refused request that leaked or freed a block included: the count
  // stays wrong) is still seen within a few operations of the one that did
  // it.
  std::string CheckWhenDue() {
    static constexpr std::size_t kCheckSpacing = 8;
    if (++unchecked_ * kCheckSpacing < live_.size()) return "";
    return Check();
  }

  // Checks every live pattern, frees everything, and checks the heap.
  std::string FreeAll() {
    while (!live_.empty()) {
      std::string error = Free(live_.size() - 1);
      if (!error.empty()) return error;
    }
    return Check();
  }

 private:
  struct Live {
    std::byte* ptr;
    std::size_t size;
    std::uint64_t id;
  };

  static std::string Describe(const char* what, std::size_t a, std::size_t b) {
    return std::string(what) + " (" + std::to_string(a) + ", " +
           std::to_string(b) + ")";
  }

  // A failed request must leave exactly the model's blocks allocated: the
  // next Check() counts them, and names the refusal if they are off. (A
  // heap walk before every request, in case it fails, would make each
  // operation cost O(blocks).)
  std::string Unchanged(const char* op) {
    failed_op_ = op;
    return "";
  }

  std::string Admit(std::byte* ptr, std::size_t size, std::size_t align) {
    if (reinterpret_cast<std::uintptr_t>(ptr) % std::max(align, kGranule) !=
        0) {
      return Describe("misaligned block", size, align);
    }
    const std::size_t usable = heap_.UsableSize(ptr);
    if (usable < size)
      return Describe("block smaller than asked", size, usable);
    const std::size_t next = FirstRangeFrom(ptr);
    if (next != ranges_.size() && ptr + usable > ranges_[next].begin) {
      return Describe("block overlaps the next live block", size, align);
    }
    if (next != 0 && ranges_[next - 1].end > ptr) {
      return Describe("block overlaps the previous live block", size, align);
    }
    InsertRange(next, {ptr, ptr + usable});
    const std::uint64_t id = next_id_++;
    FillPattern(ptr, size, id);
    live_.push_back({ptr, size, id});
    return "";
  }

  // The first of ranges_ that begins at `ptr` or above. A search of its own
  // rather than std::lower_bound or a std::map: the standard library's
  // templates are instantiated outside this no-coverage region, and their
  // comparisons, traced for libFuzzer, cost the fuzzers more than the heap
  // operations they check.
  std::size_t FirstRangeFrom(const std::byte* ptr) const {
    std::size_t low = 0;
    std::size_t high = ranges_.size();
    while (low < high) {
      const std::size_t mid = low + (high - low) / 2;
      if (ranges_[mid].begin < ptr) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low;
  }

  void Forget(std::size_t index) {
    EraseRange(FirstRangeFrom(live_[index].ptr));
    live_[index] = live_.back();
    live_.pop_back();
  }

  struct Range {
    std::byte* begin;
    std::byte* end;
  };

  // std::vector's insert and erase, and memmove too, shift through ASan's
  // internal memmove, which copies a byte at a time (a twentieth of
  // raw_malloc_fuzzer's time). These shift whole Ranges in a loop that is
  // neither instrumented nor turned back into a memmove call.
  RUSTY_MALLOC_MODEL_SHIFT void InsertRange(std::size_t at, Range range) {
    ranges_.push_back(range);
    Range* const data = ranges_.data();
    for (std::size_t i = ranges_.size() - 1; i > at; --i) data[i] = data[i - 1];
    data[at] = range;
  }
  RUSTY_MALLOC_MODEL_SHIFT void EraseRange(std::size_t at) {
    Range* const data = ranges_.data();
    for (std::size_t i = at + 1; i < ranges_.size(); ++i) data[i - 1] = data[i];
    ranges_.pop_back();
  }

  Heap& heap_;
  std::vector<Live> live_;
  std::vector<Range> ranges_;  // The live blocks' usable bytes, by address.
  std::uint64_t next_id_ = 0;
  std::size_t unchecked_ = 0;        // Operations since Check().
  const char* failed_op_ = nullptr;  // A request refused since Check().
};

RUSTY_MALLOC_NO_COVERAGE_END
#undef RUSTY_MALLOC_MODEL_SHIFT

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_HEAP_MODEL_H_

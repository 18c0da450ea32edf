// Part of per_thread_lifecycle_fuzzer: the model's blocks, each with its
// pattern, allocated, freed, resized and taken out of the model, apart from
// the commands because every command and the fork's child use them alike.

#ifndef RUSTY_MALLOC_FUZZ_LIFECYCLE_BLOCKS_H_
#define RUSTY_MALLOC_FUZZ_LIFECYCLE_BLOCKS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/lifecycle/bounds.h"
#include "fuzz/lifecycle/lifecycle.h"
#include "testing/no_coverage.h"
#include "testing/patterns.h"

namespace rusty_malloc::fuzzing::lifecycle {

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // Loops over thousands of blocks.

// The descriptor of the span (or page) holding `p`; for a block outside
// the chunks, just where one would be (not read).
template <typename Heap>
const void* Lifecycle<Heap>::Span(const void* p) {
  return heap_.source().Contains(p) ? static_cast<const void*>(SpanOf(p))
                                    : PageOf(p);
}

// Every `stride`-th live block, taken out of the model (the caller frees
// them).
template <typename Heap>
std::vector<Live> Lifecycle<Heap>::TakeEvery(std::size_t stride) {
  std::vector<Live> taken;
  for (std::size_t i = live_.size(); i-- > 0;) {
    if (i % stride == 0) {
      taken.push_back(live_[i]);
      Forget(i);
    }
  }
  return taken;
}

template <typename Heap>
void Lifecycle<Heap>::AllocateMany(std::size_t count, std::size_t size,
                                   std::size_t align) {
  for (std::size_t i = 0; i < count; ++i) {
    if (live_bytes_ + size > max_live_bytes_ ||
        live_.size() >= kMaxLiveBlocks) {
      return;
    }
    void* p = Allocate(size, align);
    if (p == nullptr) return;  // The chunk source may run out.
    Admit({p, size, next_id_++});
  }
}

// Like AllocateMany, but into a list of its own with ids from `id` on,
// patterns filled, for an actor that runs beside others (the model is
// only read); the caller admits them.
template <typename Heap>
std::vector<Live> Lifecycle<Heap>::AllocateLoose(std::size_t count,
                                                 std::size_t size,
                                                 std::uint64_t id) {
  std::vector<Live> made;
  std::size_t bytes = live_bytes_;
  for (std::size_t i = 0; i < count; ++i) {
    if (bytes + size > max_live_bytes_ ||
        live_.size() + made.size() >= kMaxLiveBlocks) {
      break;
    }
    void* p = Allocate(size, kGranule);
    if (p == nullptr) break;
    made.push_back({p, size, id++});
    testing::FillPattern(p, size, made.back().id, kPatternStride);
    bytes += size;
  }
  return made;
}

template <typename Heap>
void* Lifecycle<Heap>::Allocate(std::size_t size, std::size_t align) {
  void* p = heap_.Allocate(size, align);
  if (p == nullptr) return nullptr;
  if (reinterpret_cast<std::uintptr_t>(p) % align != 0) {
    Require("misaligned block");
  }
  if (heap_.UsableSize(p) < size) Require("block smaller than asked");
  return p;
}

// Takes a block into the model with a fresh pattern (its id is unique:
// blocks made beside others get theirs from a separate range).
template <typename Heap>
void Lifecycle<Heap>::Admit(const Live& l, bool fill) {
  if (fill) testing::FillPattern(l.ptr, l.size, l.id, kPatternStride);
  live_.push_back(l);
  ++unchecked_;
  live_bytes_ += l.size;
}

template <typename Heap>
void Lifecycle<Heap>::CheckAndFree(const Live& l) {
  if (testing::FirstPatternMismatch(l.ptr, l.size, l.id, kPatternStride) !=
      l.size) {
    Require("block damaged before free");
  }
  heap_.Deallocate(l.ptr);
}

template <typename Heap>
template <typename Pred>
void Lifecycle<Heap>::FreeIf(Pred pred) {
  for (std::size_t i = 0; i < live_.size();) {
    if (pred(live_[i])) {
      CheckAndFree(live_[i]);
      Forget(i);
    } else {
      ++i;
    }
  }
}

template <typename Heap>
void Lifecycle<Heap>::Reallocate(std::size_t index, std::size_t size) {
  Live& l = live_[index];
  if (live_bytes_ - l.size + size > max_live_bytes_) return;
  void* p = heap_.Reallocate(l.ptr, size);
  if (p == nullptr) return;
  const std::size_t kept = std::min(size, l.size);
  if (testing::FirstPatternMismatch(p, kept, l.id, kPatternStride, l.size) !=
      kept) {
    Require("realloc lost contents");
  }
  testing::FillPattern(p, size, l.id, kPatternStride);
  live_bytes_ = live_bytes_ - l.size + size;
  l.ptr = p;
  l.size = size;
}

template <typename Heap>
void Lifecycle<Heap>::Forget(std::size_t i) {
  ++unchecked_;
  live_bytes_ -= live_[i].size;
  live_[i] = live_.back();
  live_.pop_back();
}

RUSTY_MALLOC_NO_COVERAGE_END

}  // namespace rusty_malloc::fuzzing::lifecycle

#endif  // RUSTY_MALLOC_FUZZ_LIFECYCLE_BLOCKS_H_

#ifndef RUSTY_MALLOC_TESTING_PER_THREAD_SOURCES_H_
#define RUSTY_MALLOC_TESTING_PER_THREAD_SOURCES_H_

#include <cstddef>
#include <memory>
#include <string>

#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "gtest/gtest.h"
#include "testing/test_growers.h"

namespace rusty_malloc::testing {

// The per-thread allocator over each chunk source, for typed tests: Make()
// builds a fresh one, with room for every test's chunks.
struct MmapSourced {
  using Heap = PerThreadMalloc<MmapChunkSource>;
  static constexpr const char* kName = "MmapChunkSource";
  static std::unique_ptr<Heap> Make() {
    return std::make_unique<Heap>(std::size_t{4} << 30);
  }
};

struct GrowerSourced {
  using Heap = PerThreadMalloc<GrowerChunkSource<TestGrower>>;
  static constexpr const char* kName = "GrowerChunkSource";
  static std::unique_ptr<Heap> Make() {
    return std::make_unique<Heap>(TestGrower(std::size_t{2} << 30));
  }
};

using ChunkSources = ::testing::Types<MmapSourced, GrowerSourced>;

// Names each typed test after its chunk source.
class ChunkSourceNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

// A fixture with a fresh allocator over chunk source `Sourced` per test.
template <typename Sourced>
class PerThreadHeapTest : public ::testing::Test {
 protected:
  typename Sourced::Heap& heap() { return *heap_; }

 private:
  std::unique_ptr<typename Sourced::Heap> heap_ = Sourced::Make();
};

// The allocator's own suite, over both chunk sources, whose tests several
// files share.
template <typename T>
class PerThreadMallocTest : public PerThreadHeapTest<T> {};
TYPED_TEST_SUITE(PerThreadMallocTest, ChunkSources, ChunkSourceNames);

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_PER_THREAD_SOURCES_H_

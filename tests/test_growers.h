#ifndef RUSTY_MALLOC_TESTS_TEST_GROWERS_H_
#define RUSTY_MALLOC_TESTS_TEST_GROWERS_H_

#include <sys/mman.h>

#include <cstddef>
#include <span>
#include <utility>

#include "growers/buffer_grower.h"
#include "growers/grower.h"

namespace rusty_malloc::testing {

// A BufferGrower over its own buffer that counts calls and can be told to
// refuse, so tests can see when and by how much an allocator grows and can
// drive its out-of-memory paths at will. The buffer is an anonymous mapping:
// untouched pages cost nothing, which keeps fuzz iterations cheap.
class TestGrower {
 public:
  explicit TestGrower(std::size_t capacity)
      : mapped_(capacity),
        buffer_(static_cast<std::byte*>(
            mmap(nullptr, capacity, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0))),
        inner_(buffer_ == MAP_FAILED
                   ? std::span<std::byte>()
                   : std::span<std::byte>(buffer_, capacity)) {}
  TestGrower(TestGrower&& other) noexcept
      : mapped_(std::exchange(other.mapped_, 0)),
        buffer_(std::exchange(other.buffer_, nullptr)),
        inner_(std::move(other.inner_)),
        refuse_(other.refuse_),
        grow_calls_(other.grow_calls_),
        shrink_calls_(other.shrink_calls_),
        grown_bytes_(other.grown_bytes_) {}
  TestGrower& operator=(TestGrower&&) = delete;
  ~TestGrower() {
    if (mapped_ != 0 && buffer_ != MAP_FAILED) munmap(buffer_, mapped_);
  }

  std::size_t Grow(std::size_t min_bytes) {
    ++grow_calls_;
    if (refuse_) return 0;
    const std::size_t added = inner_.Grow(min_bytes);
    grown_bytes_ += added;
    return added;
  }
  bool Shrink(std::size_t bytes) {
    ++shrink_calls_;
    if (refuse_) return false;
    return inner_.Shrink(bytes);
  }
  std::byte* Base() const { return inner_.Base(); }
  std::size_t Size() const { return inner_.Size(); }

  void set_refuse(bool refuse) { refuse_ = refuse; }
  int grow_calls() const { return grow_calls_; }
  int shrink_calls() const { return shrink_calls_; }
  std::size_t grown_bytes() const { return grown_bytes_; }

 private:
  std::size_t mapped_;
  std::byte* buffer_;
  BufferGrower inner_;
  bool refuse_ = false;
  int grow_calls_ = 0;
  int shrink_calls_ = 0;
  std::size_t grown_bytes_ = 0;
};

static_assert(Grower<TestGrower>);

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTS_TEST_GROWERS_H_

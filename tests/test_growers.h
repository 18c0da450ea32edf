#ifndef RUSTY_MALLOC_TESTS_TEST_GROWERS_H_
#define RUSTY_MALLOC_TESTS_TEST_GROWERS_H_

#include <cstddef>
#include <memory>
#include <span>

#include "growers/buffer_grower.h"
#include "growers/grower.h"

namespace rusty_malloc::testing {

// A BufferGrower over its own heap-allocated buffer that counts calls and can
// be told to refuse, so tests can see when and by how much an allocator grows
// and can drive its out-of-memory paths at will.
class TestGrower {
 public:
  explicit TestGrower(std::size_t capacity)
      : buffer_(new std::byte[capacity + kGrowerAlignment]),
        inner_(
            std::span<std::byte>(buffer_.get(), capacity + kGrowerAlignment)) {}

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
  std::unique_ptr<std::byte[]> buffer_;
  BufferGrower inner_;
  bool refuse_ = false;
  int grow_calls_ = 0;
  int shrink_calls_ = 0;
  std::size_t grown_bytes_ = 0;
};

static_assert(Grower<TestGrower>);

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTS_TEST_GROWERS_H_

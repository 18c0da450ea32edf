#ifndef RUSTY_MALLOC_TESTING_TEST_GROWERS_H_
#define RUSTY_MALLOC_TESTING_TEST_GROWERS_H_

#include <sys/mman.h>

#include <cstddef>
#include <mutex>
#include <span>
#include <utility>

#include "growers/buffer_grower.h"
#include "growers/grower.h"

namespace rusty_malloc::testing {

// A BufferGrower over its own buffer that counts calls and can be told to
// refuse, so tests can see when and by how much an allocator grows and can
// drive its out-of-memory paths at will. The buffer is an anonymous mapping:
// untouched pages cost nothing.
class TestGrower {
 public:
  explicit TestGrower(std::size_t capacity)
      : mapped_(capacity),
        buffer_(Map(capacity)),
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
    if (mapped_ != 0 && buffer_ != MAP_FAILED) Unmap(buffer_, mapped_);
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
  // One buffer is kept for the next grower of the same capacity: a fuzz
  // input builds a heap and throws it away, and faulting in fresh pages
  // for each one would cost more than the input's work. The reused buffer
  // is dirty, which no heap may mind.
  struct Spare {
    std::mutex mu;
    std::byte* buffer = nullptr;
    std::size_t size = 0;
  };
  static Spare& spare() {
    static Spare* const spare = new Spare;
    return *spare;
  }
  static std::byte* Map(std::size_t capacity) {
    {
      Spare& s = spare();
      std::lock_guard<std::mutex> lock(s.mu);
      if (s.buffer != nullptr && s.size == capacity) {
        return std::exchange(s.buffer, nullptr);
      }
    }
    return static_cast<std::byte*>(
        mmap(nullptr, capacity, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  }
  static void Unmap(std::byte* buffer, std::size_t size) {
    Spare& s = spare();
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.buffer != nullptr) munmap(s.buffer, s.size);
    s.buffer = buffer;
    s.size = size;
  }

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

#endif  // RUSTY_MALLOC_TESTING_TEST_GROWERS_H_

#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_MAPPED_ARRAY_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_MAPPED_ARRAY_H_

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "allocator/common/os_memory.h"

namespace rusty_malloc {

// An array on a mapping of its own, for an allocator's bookkeeping, which
// cannot come from malloc. It starts empty, and each growth moves it to a
// fresh mapping of twice the capacity (kFirstCapacity the first time): the
// kernel's zero pages make every new element zero, which is how a T says
// "empty". Growth fails, changing nothing, when the OS refuses the mapping.
// Not thread-safe: its owner locks around it.
template <typename T, std::size_t kFirstCapacity>
class MappedArray {
  static_assert(std::is_trivially_copyable_v<T>);
  static_assert(kFirstCapacity > 0);

 public:
  constexpr MappedArray() = default;
  MappedArray(const MappedArray&) = delete;
  MappedArray& operator=(const MappedArray&) = delete;
  ~MappedArray() {
    if (data_ != nullptr) Unmap(data_, capacity_ * sizeof(T));
  }

  // Grows, keeping the first `keep` (<= capacity()) elements in place.
  [[nodiscard]] bool Grow(std::size_t keep) {
    MappedArray old;
    if (!GrowFresh(&old)) return false;
    if (keep != 0) std::memcpy(data_, old.data_, keep * sizeof(T));
    return true;
  }
  // Grows, every element zero, and hands the old mapping to `*old` (empty),
  // which unmaps it when it goes: for a caller that places the elements
  // anew, as a hash table rehashing does.
  [[nodiscard]] bool GrowFresh(MappedArray* old) {
    const std::size_t capacity =
        capacity_ == 0 ? kFirstCapacity : 2 * capacity_;
    void* room = Map(capacity * sizeof(T));
    if (room == nullptr) return false;
    old->data_ = data_;
    old->capacity_ = capacity_;
    data_ = static_cast<T*>(room);
    capacity_ = capacity;
    return true;
  }

  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  [[nodiscard]] T* data() { return data_; }
  [[nodiscard]] const T* data() const { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_MAPPED_ARRAY_H_

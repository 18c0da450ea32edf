#ifndef RUSTY_MALLOC_ALLOCATOR_ADAPTORS_MEMORY_RESOURCE_H_
#define RUSTY_MALLOC_ALLOCATOR_ADAPTORS_MEMORY_RESOURCE_H_

#include <cstddef>
#include <memory_resource>
#include <new>

#include "allocator/common/heap.h"

namespace rusty_malloc {

// A std::pmr::memory_resource over one allocator instance, so std::pmr
// containers can live in a heap on a stack buffer (BufferGrower), an mmap
// range or anything else a grower provides. The instance must outlive the
// resource's users. Exhaustion throws std::bad_alloc.
template <Heap A>
class MemoryResource final : public std::pmr::memory_resource {
 public:
  explicit MemoryResource(A& heap) noexcept : heap_(&heap) {}

  A& heap() const noexcept { return *heap_; }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    void* p = heap_->Allocate(bytes, align);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void do_deallocate(void* p, std::size_t, std::size_t) override {
    heap_->Deallocate(p);
  }
  // Equal when they draw on the same heap: one may free what the other gave.
  bool do_is_equal(
      const std::pmr::memory_resource& other) const noexcept override {
    const auto* same = dynamic_cast<const MemoryResource*>(&other);
    return same != nullptr && same->heap_ == heap_;
  }

  A* heap_;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_ADAPTORS_MEMORY_RESOURCE_H_

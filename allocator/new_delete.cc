// Every form of operator new and delete on the global heap. new throws
// std::bad_alloc after giving the new-handler its chance, as the standard
// requires; the nothrow forms return nullptr instead.

#include <cstddef>
#include <new>

#include "allocator/global_heap.h"

namespace {

constexpr std::size_t kNewAlignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

void* NewOrNull(std::size_t size, std::size_t align) {
  for (;;) {
    if (void* p = rusty_malloc::TheGlobalHeap().Allocate(size, align)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) return nullptr;
    handler();
  }
}

void* NewOrThrow(std::size_t size, std::size_t align) {
  void* p = NewOrNull(size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* NewNoThrow(std::size_t size, std::size_t align) noexcept {
  try {
    return NewOrNull(size, align);
  } catch (...) {  // A new-handler may throw.
    return nullptr;
  }
}

void Delete(void* p) noexcept { rusty_malloc::TheGlobalHeap().Deallocate(p); }

}  // namespace

void* operator new(std::size_t n) { return NewOrThrow(n, kNewAlignment); }
void* operator new[](std::size_t n) { return NewOrThrow(n, kNewAlignment); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return NewNoThrow(n, kNewAlignment);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return NewNoThrow(n, kNewAlignment);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return NewOrThrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return NewOrThrow(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, std::align_val_t a,
                   const std::nothrow_t&) noexcept {
  return NewNoThrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a,
                     const std::nothrow_t&) noexcept {
  return NewNoThrow(n, static_cast<std::size_t>(a));
}

void operator delete(void* p) noexcept { Delete(p); }
void operator delete[](void* p) noexcept { Delete(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Delete(p); }
void operator delete(void* p, std::size_t) noexcept { Delete(p); }
void operator delete[](void* p, std::size_t) noexcept { Delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { Delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Delete(p); }
void operator delete(void* p, std::align_val_t,
                     const std::nothrow_t&) noexcept {
  Delete(p);
}
void operator delete[](void* p, std::align_val_t,
                       const std::nothrow_t&) noexcept {
  Delete(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  Delete(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  Delete(p);
}

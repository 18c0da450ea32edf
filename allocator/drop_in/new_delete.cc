// Every form of operator new and delete on the global heap. new throws
// std::bad_alloc after giving the new-handler its chance, as the standard
// requires; the nothrow forms return nullptr instead (operator_new.h).

#include <cstddef>
#include <new>

#include "allocator/drop_in/c_api_checks.h"
#include "allocator/drop_in/global_heap.h"
#include "allocator/drop_in/operator_new.h"

namespace {

using rusty_malloc::c_api::kNewAlignment;

void* NewOrThrow(std::size_t size, std::size_t align) {
  return rusty_malloc::c_api::NewOrThrow(rusty_malloc::TheGlobalHeap(), size,
                                         align);
}

// Failing, with a new-handler that may throw: the program's runtime must
// catch that, not this library's copy (cxx_runtime.h), or it would count the
// exception as still in flight.
[[gnu::noinline, gnu::cold]] void* NewNoThrowSlow(std::size_t size,
                                                  std::size_t align) noexcept {
  void* result;
  if (rusty_malloc::c_api::ProgramNothrowNew(size, align, &result)) {
    return result;
  }
  return rusty_malloc::c_api::NewNoThrow(rusty_malloc::TheGlobalHeap(), size,
                                         align);
}

void* NewNoThrow(std::size_t size, std::size_t align) noexcept {
  if (void* p = rusty_malloc::TheGlobalHeap().Allocate(size, align)) return p;
  return NewNoThrowSlow(size, align);
}

void Delete(void* p) noexcept {
  rusty_malloc::c_api::Delete(rusty_malloc::TheGlobalHeap(), p);
}

void SizedDelete(void* p, std::size_t size) noexcept {
  rusty_malloc::c_api::SizedDelete(rusty_malloc::TheGlobalHeap(), p, size);
}

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
void operator delete(void* p, std::size_t n) noexcept { SizedDelete(p, n); }
void operator delete[](void* p, std::size_t n) noexcept { SizedDelete(p, n); }
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
void operator delete(void* p, std::size_t n, std::align_val_t) noexcept {
  SizedDelete(p, n);
}
void operator delete[](void* p, std::size_t n, std::align_val_t) noexcept {
  SizedDelete(p, n);
}

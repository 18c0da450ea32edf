// Every form of operator new and delete on the global heap. new throws
// std::bad_alloc after giving the new-handler its chance, as the standard
// requires; the nothrow forms return nullptr instead (operator_new.h).

#include <cstddef>
#include <new>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "allocator/drop_in/c_api_checks.h"
#include "allocator/drop_in/global_heap.h"
#include "allocator/drop_in/operator_new.h"
#include "allocator/drop_in/traced_calls.h"

namespace {

using rusty_malloc::TheGlobalHeap;
using rusty_malloc::Tracing;
using rusty_malloc::c_api::kNewAlignment;
using rusty_malloc::trace::Op;

rusty_malloc::trace::Recorder& Recorder() {
  return rusty_malloc::TheRecorder();
}

// kNew's align field: 0 for the default alignment.
std::size_t RecordedAlign(std::size_t align) {
  return align == kNewAlignment ? 0 : align;
}

// Out of line and recorded (traced_calls.h), as malloc's are.
ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void* TracedNew(std::size_t size,
                                                            std::size_t align) {
  void* p = rusty_malloc::c_api::NewOrThrowSlow(TheGlobalHeap(), size, align);
  Recorder().Allocated(Op::kNew, RecordedAlign(align), size, p);
  return p;
}
ABSL_ATTRIBUTE_NOINLINE void* NewSlow(std::size_t size, std::size_t align) {
  if (ABSL_PREDICT_FALSE(Tracing())) return TracedNew(size, align);
  return rusty_malloc::c_api::NewOrThrowSlow(TheGlobalHeap(), size, align);
}

void* NewOrThrow(std::size_t size, std::size_t align) {
  if (void* p =
          rusty_malloc::c_api::TryAllocateFast(TheGlobalHeap(), size, align)) {
    return p;
  }
  return NewSlow(size, align);
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
  return rusty_malloc::c_api::NewNoThrow(TheGlobalHeap(), size, align);
}

void* NewNoThrow(std::size_t size, std::size_t align) noexcept {
  void* p = TheGlobalHeap().Allocate(size, align);
  if (p == nullptr) p = NewNoThrowSlow(size, align);
  if (ABSL_PREDICT_FALSE(Tracing())) {
    Recorder().Allocated(Op::kNew, RecordedAlign(align), size, p);
  }
  return p;
}

// delete's path for a block outside the calling thread's cached chunk.
ABSL_ATTRIBUTE_NOINLINE void DeleteElsewhere(void* p) noexcept {
  if (ABSL_PREDICT_FALSE(Tracing())) Recorder().Freeing(Op::kDelete, p, 0);
  rusty_malloc::DeallocateNotLocal(TheGlobalHeap(), p);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Delete(void* p) noexcept {
  rusty_malloc::DeallocateOr(TheGlobalHeap(), p, DeleteElsewhere);
}

void SizedDelete(void* p, std::size_t size) noexcept {
  if (ABSL_PREDICT_FALSE(Tracing())) {
    Recorder().Freeing(Op::kDeleteSized, p, size);
  }
  rusty_malloc::c_api::SizedDelete(TheGlobalHeap(), p, size);
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

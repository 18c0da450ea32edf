#ifndef RUSTY_MALLOC_TESTS_TRACE_TO_FUZZ_C_API_LOG_H_
#define RUSTY_MALLOC_TESTS_TRACE_TO_FUZZ_C_API_LOG_H_

// For trace_to_fuzz_c_interface_test only, which compiles malloc_fuzzer's
// sources with this header included first (-include): every call the
// harness makes of the C interface (allocator/drop_in/c_api.h and
// operator_new.h) is logged (tests/trace_to_fuzz_testing.h). The model's
// heap type is fixed (fuzz/c_interface/model.h), so the calls are caught
// where the harness names them: the model's header is read first, with the
// real c_api, and then `c_api` is defined to name a namespace of wrappers
// around it, so the harness's `c_api::Malloc(heap_, size)` logs and calls
// the real one. A function the harness starts to use that is not here
// fails to compile.

#include <cstddef>

#include "fuzz/c_interface/model.h"
#include "tests/trace_to_fuzz_testing.h"

namespace rusty_malloc::logged_c_api {

using c_api::kNewAlignment;
using c_api::MallocTrim;
using c_api::Pvalloc;
using c_api::ReallocArray;
using c_api::Valloc;

inline void Log(const char* fn, const void* in, const void* out,
                std::size_t count, std::size_t size, std::size_t align) {
  trace_to_fuzz_test::CallLog::Get().Add({0, fn, in, out, count, size, align});
}

template <typename H>
void* Malloc(H& heap, std::size_t size) {
  void* p = c_api::Malloc(heap, size);
  Log("malloc", nullptr, p, 0, size, 0);
  return p;
}
template <typename H>
void* Calloc(H& heap, std::size_t count, std::size_t size) {
  void* p = c_api::Calloc(heap, count, size);
  Log("calloc", nullptr, p, count, size, 0);
  return p;
}
template <typename H>
void* Realloc(H& heap, void* ptr, std::size_t size) {
  void* p = c_api::Realloc(heap, ptr, size);
  Log("realloc", ptr, p, 0, size, 0);
  return p;
}
template <typename H>
void* AlignedAlloc(H& heap, std::size_t align, std::size_t size) {
  void* p = c_api::AlignedAlloc(heap, align, size);
  Log("aligned_alloc", nullptr, p, 0, size, align);
  return p;
}
template <typename H>
int PosixMemalign(H& heap, void** out, std::size_t align, std::size_t size) {
  const int result = c_api::PosixMemalign(heap, out, align, size);
  Log("posix_memalign", nullptr, result == 0 ? *out : nullptr, 0, size, align);
  return result;
}
template <typename H>
void* Memalign(H& heap, std::size_t align, std::size_t size) {
  void* p = c_api::Memalign(heap, align, size);
  Log("memalign", nullptr, p, 0, size, align);
  return p;
}
template <typename H>
void* NewOrThrow(H& heap, std::size_t size, std::size_t align) {
  void* p = c_api::NewOrThrow(heap, size, align);
  Log("new", nullptr, p, 0, size, align);
  return p;
}
template <typename H>
void* NewNoThrow(H& heap, std::size_t size, std::size_t align) {
  void* p = c_api::NewNoThrow(heap, size, align);
  Log("new_nothrow", nullptr, p, 0, size, align);
  return p;
}
template <typename H>
void Free(H& heap, void* ptr) {
  Log("free", ptr, nullptr, 0, 0, 0);
  c_api::Free(heap, ptr);
}
template <typename H>
void FreeSized(H& heap, void* ptr, std::size_t size) {
  Log("free_sized", ptr, nullptr, 0, size, 0);
  c_api::FreeSized(heap, ptr, size);
}
template <typename H>
void Delete(H& heap, void* ptr) {
  Log("delete", ptr, nullptr, 0, 0, 0);
  c_api::Delete(heap, ptr);
}
template <typename H>
void SizedDelete(H& heap, void* ptr, std::size_t size) {
  Log("sized_delete", ptr, nullptr, 0, size, 0);
  c_api::SizedDelete(heap, ptr, size);
}
template <typename H>
std::size_t MallocUsableSize(H& heap, void* ptr) {
  Log("usable", ptr, nullptr, 0, 0, 0);
  return c_api::MallocUsableSize(heap, ptr);
}

}  // namespace rusty_malloc::logged_c_api

#define c_api logged_c_api

#endif  // RUSTY_MALLOC_TESTS_TRACE_TO_FUZZ_C_API_LOG_H_

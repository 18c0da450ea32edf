#include "allocator/drop_in/cxx_runtime.h"

#include <dlfcn.h>

#include <atomic>
#include <new>

namespace rusty_malloc::c_api {
namespace {

using Function = void (*)();

// The first of `names` that dlsym finds from `handle`, or `fallback`.
// Resolved once; a race only resolves twice. The preload libraries' own
// copies are local (allocator/exports.lds), so the lookup never finds them.
Function Resolve(std::atomic<Function>& cache, void* handle,
                 const char* const* names, Function fallback) {
  Function f = cache.load(std::memory_order_acquire);
  if (f != nullptr) return f;
  for (; *names != nullptr && f == nullptr; ++names) {
    f = reinterpret_cast<Function>(dlsym(handle, *names));
  }
  if (f == nullptr) f = fallback;
  cache.store(f, std::memory_order_release);
  return f;
}

std::new_handler LinkedNewHandler() { return std::get_new_handler(); }
[[noreturn]] void LinkedThrowBadAlloc() { throw std::bad_alloc(); }
// Stands for "not found" where there is no fallback.
void Missing() {}

std::atomic<Function> get_new_handler_fn{nullptr};
std::atomic<Function> throw_bad_alloc_fn{nullptr};
std::atomic<Function> nothrow_new_fn{nullptr};
std::atomic<Function> aligned_nothrow_new_fn{nullptr};

}  // namespace

std::new_handler ProgramNewHandler() {
  // std::get_new_handler: one name in libstdc++ and libc++ alike.
  static constexpr const char* kNames[] = {"_ZSt15get_new_handlerv", nullptr};
  const Function f = Resolve(get_new_handler_fn, RTLD_DEFAULT, kNames,
                             reinterpret_cast<Function>(&LinkedNewHandler));
  return reinterpret_cast<std::new_handler (*)()>(f)();
}

bool ProgramNothrowNew(std::size_t size, std::size_t align,
                       void** result) noexcept {
  // The next definition after this library (RTLD_NEXT: never its own).
  static constexpr const char* kNames[] = {"_ZnwmRKSt9nothrow_t", nullptr};
  static constexpr const char* kAlignedNames[] = {
      "_ZnwmSt11align_val_tRKSt9nothrow_t", nullptr};
  const bool aligned = align > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  const Function f =
      Resolve(aligned ? aligned_nothrow_new_fn : nothrow_new_fn, RTLD_NEXT,
              aligned ? kAlignedNames : kNames, &Missing);
  if (f == &Missing) return false;
  if (aligned) {
    *result = reinterpret_cast<void* (*)(std::size_t, std::align_val_t,
                                         const std::nothrow_t&)>(f)(
        size, std::align_val_t{align}, std::nothrow);
  } else {
    *result = reinterpret_cast<void* (*)(std::size_t, const std::nothrow_t&)>(
        f)(size, std::nothrow);
  }
  return true;
}

void ThrowBadAlloc() {
  // std::__throw_bad_alloc, libstdc++'s then libc++'s.
  static constexpr const char* kNames[] = {
      "_ZSt17__throw_bad_allocv", "_ZNSt3__117__throw_bad_allocEv", nullptr};
  const Function f = Resolve(throw_bad_alloc_fn, RTLD_DEFAULT, kNames,
                             reinterpret_cast<Function>(&LinkedThrowBadAlloc));
  reinterpret_cast<void (*)()>(f)();
  __builtin_unreachable();
}

}  // namespace rusty_malloc::c_api

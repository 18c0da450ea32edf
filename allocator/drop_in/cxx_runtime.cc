#include "allocator/drop_in/cxx_runtime.h"

#include <dlfcn.h>

#include <atomic>
#include <new>

namespace rusty_malloc::c_api {
namespace {

using Function = void (*)();

// The first of `names` the dynamic linker's global scope defines, or
// `fallback`. Resolved once; a race only resolves twice. The preload
// libraries' own copies are local (allocator/exports.lds), so the lookup
// never finds them.
Function Resolve(std::atomic<Function>& cache, const char* const* names,
                 Function fallback) {
  Function f = cache.load(std::memory_order_acquire);
  if (f != nullptr) return f;
  for (; *names != nullptr && f == nullptr; ++names) {
    f = reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, *names));
  }
  if (f == nullptr) f = fallback;
  cache.store(f, std::memory_order_release);
  return f;
}

std::new_handler LinkedNewHandler() { return std::get_new_handler(); }
[[noreturn]] void LinkedThrowBadAlloc() { throw std::bad_alloc(); }

std::atomic<Function> get_new_handler_fn{nullptr};
std::atomic<Function> throw_bad_alloc_fn{nullptr};

// The next definition of `name` after this library (RTLD_NEXT: never this
// library's own), or nullptr; cached, a miss as kMissing.
const auto kMissing = reinterpret_cast<Function>(&LinkedThrowBadAlloc);
Function ResolveNext(std::atomic<Function>& cache, const char* name) {
  Function f = cache.load(std::memory_order_acquire);
  if (f == nullptr) {
    f = reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
    if (f == nullptr) f = kMissing;
    cache.store(f, std::memory_order_release);
  }
  return f == kMissing ? nullptr : f;
}

std::atomic<Function> nothrow_new_fn{nullptr};
std::atomic<Function> aligned_nothrow_new_fn{nullptr};

}  // namespace

std::new_handler ProgramNewHandler() {
  // std::get_new_handler: one name in libstdc++ and libc++ alike.
  static constexpr const char* kNames[] = {"_ZSt15get_new_handlerv", nullptr};
  const Function f = Resolve(get_new_handler_fn, kNames,
                             reinterpret_cast<Function>(&LinkedNewHandler));
  return reinterpret_cast<std::new_handler (*)()>(f)();
}

bool ProgramNothrowNew(std::size_t size, std::size_t align,
                       void** result) noexcept {
  if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
    const Function f = ResolveNext(nothrow_new_fn, "_ZnwmRKSt9nothrow_t");
    if (f == nullptr) return false;
    *result = reinterpret_cast<void* (*)(std::size_t, const std::nothrow_t&)>(
        f)(size, std::nothrow);
    return true;
  }
  const Function f =
      ResolveNext(aligned_nothrow_new_fn, "_ZnwmSt11align_val_tRKSt9nothrow_t");
  if (f == nullptr) return false;
  *result = reinterpret_cast<void* (*)(std::size_t, std::align_val_t,
                                       const std::nothrow_t&)>(f)(
      size, std::align_val_t{align}, std::nothrow);
  return true;
}

void ThrowBadAlloc() {
  // std::__throw_bad_alloc, libstdc++'s then libc++'s.
  static constexpr const char* kNames[] = {
      "_ZSt17__throw_bad_allocv", "_ZNSt3__117__throw_bad_allocEv", nullptr};
  const Function f = Resolve(throw_bad_alloc_fn, kNames,
                             reinterpret_cast<Function>(&LinkedThrowBadAlloc));
  reinterpret_cast<void (*)()>(f)();
  __builtin_unreachable();
}

}  // namespace rusty_malloc::c_api

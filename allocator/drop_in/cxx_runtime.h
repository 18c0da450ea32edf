#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_CXX_RUNTIME_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_CXX_RUNTIME_H_

#include <cstddef>
#include <new>

namespace rusty_malloc::c_api {

// The program's C++ runtime, as operator new needs it. The LD_PRELOAD
// libraries carry a private copy of libstdc++ (so that C programs do not map
// one): a new-handler the program installed, and the std::bad_alloc it
// catches, live in the program's runtime, not in that copy. These find the
// program's (libstdc++'s, else libc++'s) by symbol lookup and fall back to the
// runtime this code was linked with.

// The program's current new-handler, or nullptr.
std::new_handler ProgramNewHandler();

// Throws std::bad_alloc from the program's runtime.
[[noreturn]] void ThrowBadAlloc();

// The program runtime's own nothrow operator new (of alignment `align`, or
// the default): it calls the throwing operator new, this library's, and
// catches what a new-handler throws in the program's runtime, which then
// counts the exception as handled. False, with `*result` untouched, when
// there is no such runtime (a C program, a static binary).
[[nodiscard]] bool ProgramNothrowNew(std::size_t size, std::size_t align,
                                     void** result) noexcept;

}  // namespace rusty_malloc::c_api

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_CXX_RUNTIME_H_

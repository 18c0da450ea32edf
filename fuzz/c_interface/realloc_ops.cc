// Part of malloc_fuzzer: realloc and reallocarray, apart because they
// share one check (ReallocTo): contents kept, realloc(p, 0) freeing,
// failures leaving the block alone.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing::c_interface {

// realloc and reallocarray once the byte count is known. `index` is
// SIZE_MAX for realloc(nullptr, ...).
void Model::ReallocTo(std::size_t index, std::size_t bytes, bool fails,
                      void* (*call)(Heap&, void*, void*), void* arg,
                      const char* op) {
  std::byte* old = index == SIZE_MAX ? nullptr : live_[index].ptr;
  const Block b = index == SIZE_MAX ? Block{} : live_[index];
  const std::size_t old_cost =
      index == SIZE_MAX ? 0 : b.size + (b.align > 16 ? b.align : 0);
  if (!fails && bytes > Budget() + old_cost) return;
  errno = kErrnoSentinel;
  void* p = call(heap_, old, arg);
  if (fails) {
    if (p != nullptr) Fail(op, bytes, 1);
    ExpectErrno(op, ENOMEM);
    if (old != nullptr) CheckContents(b, b.size, "failed realloc damaged");
    return;
  }
  if (old != nullptr && bytes == 0) {
    // glibc's realloc(p, 0): frees, returns nullptr.
    if (p != nullptr) Fail("realloc to 0 returned a block", b.size);
    Forget(index);
    return;
  }
  if (p == nullptr) Fail(op, bytes, 0);
  if (old != nullptr) {
    // Only this block's old range may be reused: take it out first.
    CheckContents(
        Block{static_cast<std::byte*>(p), b.size, b.align, b.id, b.kind, 0},
        std::min(b.size, bytes), "realloc lost contents");
    Forget(index);
  }
  Admit(p, bytes, 16, Kind::kC, op);
}

void Model::Realloc(FuzzInput& in) {
  const std::size_t index = in.Byte() % 8 == 0 ? SIZE_MAX : PickC(in);
  std::size_t size = DecodeSize(in);
  if (in.Byte() % 4 == 0) size = 0;
  struct Arg {
    std::size_t size;
  } arg{size};
  ReallocTo(
      index, size, Cost(size, 16) == SIZE_MAX,
      [](Heap& heap, void* p, void* a) {
        return c_api::Realloc(heap, p, static_cast<Arg*>(a)->size);
      },
      &arg, "realloc");
}

void Model::ReallocArray(FuzzInput& in) {
  const std::size_t index = in.Byte() % 8 == 0 ? SIZE_MAX : PickC(in);
  struct Arg {
    std::size_t count, size;
  } arg{DecodeCount(in), DecodeSize(in)};
  std::size_t bytes;
  const bool fails = __builtin_mul_overflow(arg.count, arg.size, &bytes) ||
                     bytes >= kImpossible;
  ReallocTo(
      index, bytes, fails,
      [](Heap& heap, void* p, void* a) {
        const auto* args = static_cast<Arg*>(a);
        return c_api::ReallocArray(heap, p, args->count, args->size);
      },
      &arg, "reallocarray");
}

}  // namespace rusty_malloc::fuzzing::c_interface

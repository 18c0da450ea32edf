// Part of malloc_fuzzer: operator new (throwing, nothrow, aligned) and the
// new-handler protocol, C++'s side of the interface, apart from C's
// functions because failure is an exception or a handler's call, not errno.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing::c_interface {

void Model::New(FuzzInput& in) {
  const std::uint8_t how = in.Byte();
  const std::size_t size = DecodeSize(in);
  // std::align_val_t is a power of two by precondition.
  const std::uint8_t shift = in.Byte() % 32;
  const std::size_t align = (how & 1) == 0 ? c_api::kNewAlignment
                            : shift <= 20  ? std::size_t{1} << shift
                                           : kImpossibleAlign << (shift - 21);
  const std::size_t served = std::max<std::size_t>(align, 16);
  const bool fails = Cost(size, served) == SIZE_MAX;
  if (!fails && Cost(size, served) > Budget()) return;
  void* p;
  if (how & 2) {
    p = c_api::NewNoThrow(heap_, size, align);
  } else {
    try {
      p = c_api::NewOrThrow(heap_, size, align);
      if (p == nullptr) Fail("throwing new returned nullptr", size, align);
    } catch (const std::bad_alloc&) {
      p = nullptr;
    }
  }
  if (fails != (p == nullptr)) Fail("operator new", size, align);
  if (p != nullptr) Admit(p, size, served, Kind::kNew, "operator new");
}

// The new-handler gets its chance on failure: once, here, since it gives
// up by uninstalling itself; and a handler that throws makes the nothrow
// form return nullptr.
void Model::NewHandler(FuzzInput& in) {
  static int calls;
  calls = 0;
  const bool nothrow = in.Byte() % 2 == 0;
  const std::size_t size = kImpossible + in.Byte();
  std::new_handler previous;
  void* p = nullptr;
  bool threw = false;
  if (nothrow) {
    previous = std::set_new_handler([] {
      ++calls;
      throw std::bad_alloc();
    });
    p = c_api::NewNoThrow(heap_, size, c_api::kNewAlignment);
  } else {
    previous = std::set_new_handler([] {
      ++calls;
      std::set_new_handler(nullptr);
    });
    try {
      p = c_api::NewOrThrow(heap_, size, c_api::kNewAlignment);
    } catch (const std::bad_alloc&) {
      threw = true;
    }
  }
  std::set_new_handler(previous);
  if (p != nullptr || calls != 1 || threw == nothrow) {
    Fail("new-handler protocol", static_cast<std::size_t>(calls), nothrow);
  }
}

// operator new, with a new-handler installed one time in four.
void Model::NewMaybeWithHandler(FuzzInput& in) {
  return in.Byte() % 4 == 0 ? NewHandler(in) : New(in);
}

}  // namespace rusty_malloc::fuzzing::c_interface

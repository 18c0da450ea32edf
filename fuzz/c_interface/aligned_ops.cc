// Part of malloc_fuzzer: the aligned allocations (memalign, aligned_alloc,
// posix_memalign, valloc, pvalloc), apart because they share memalign's
// verdict on an alignment and glibc's EINVAL and ENOMEM corners.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing::c_interface {

// memalign's verdict on (align, size): 0, EINVAL or ENOMEM, and the
// alignment a success must have.
int Model::MemalignVerdict(std::size_t align, std::size_t size,
                           std::size_t* served) {
  if (align > SIZE_MAX / 2 + 1) return EINVAL;
  *served = AlignmentServed(align);
  return Cost(size, *served) == SIZE_MAX ? ENOMEM : 0;
}

// Decodes one, or nothing if it would take more than the budget.
std::optional<Model::AlignedRequest> Model::DecodeAligned(
    FuzzInput& in, bool (*valid)(std::size_t)) {
  const std::size_t align = DecodeAlign(in);
  const std::size_t size = DecodeSize(in);
  std::size_t served = 16;
  const int verdict =
      valid(align) ? MemalignVerdict(align, size, &served) : EINVAL;
  if (verdict == 0 && Cost(size, served) > Budget()) return std::nullopt;
  return AlignedRequest{align, size, served, verdict};
}

void Model::Memalign(FuzzInput& in) {
  const auto r = DecodeAligned(in, [](std::size_t) { return true; });
  if (!r) return;
  errno = kErrnoSentinel;
  void* p = c_api::Memalign(heap_, r->align, r->size);
  Expect(p, r->verdict, r->size, r->served, "memalign");
}

void Model::AlignedAlloc(FuzzInput& in) {
  const auto r = DecodeAligned(in, IsPowerOfTwo);
  if (!r) return;
  errno = kErrnoSentinel;
  void* p = c_api::AlignedAlloc(heap_, r->align, r->size);
  Expect(p, r->verdict, r->size, r->served, "aligned_alloc");
}

void Model::PosixMemalign(FuzzInput& in) {
  const auto r = DecodeAligned(in, [](std::size_t align) {
    return IsPowerOfTwo(align) && align % sizeof(void*) == 0;
  });
  if (!r) return;
  const auto [align, size, served, verdict] = *r;
  errno = kErrnoSentinel;
  int untouched;
  void* out = &untouched;
  const int result = c_api::PosixMemalign(heap_, &out, align, size);
  // Reports through its result only, success or not.
  ExpectErrno("posix_memalign changed errno", kErrnoSentinel);
  if (result != verdict) {
    Fail("posix_memalign's result", static_cast<std::size_t>(result),
         static_cast<std::size_t>(verdict));
  }
  if (verdict != 0) {
    if (out != &untouched) Fail("failed posix_memalign wrote *out", size);
    return;
  }
  Admit(out, size, served, Kind::kC, "posix_memalign");
}

void Model::Valloc(FuzzInput& in) {
  const std::size_t size = DecodeSize(in);
  const std::size_t cost = Cost(size, kPage);
  if (cost != SIZE_MAX && cost > Budget()) return;
  errno = kErrnoSentinel;
  void* p = c_api::Valloc(heap_, size);
  Expect(p, cost == SIZE_MAX ? ENOMEM : 0, size, kPage, "valloc");
}

void Model::Pvalloc(FuzzInput& in) {
  const std::size_t size = DecodeSize(in);
  const std::size_t cost = Cost(size, kPage);
  const std::size_t whole =
      size == 0 ? kPage : ((size - 1) / kPage + 1) * kPage;
  if (cost != SIZE_MAX && cost + kPage > Budget()) return;
  errno = kErrnoSentinel;
  void* p = c_api::Pvalloc(heap_, size);
  // The caller may use every byte of the rounded size.
  Expect(p, cost == SIZE_MAX ? ENOMEM : 0, cost == SIZE_MAX ? size : whole,
         kPage, "pvalloc");
}

}  // namespace rusty_malloc::fuzzing::c_interface

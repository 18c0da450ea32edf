// Part of malloc_fuzzer: malloc, calloc, free, free_sized and
// malloc_usable_size, the functions every program calls, each against the
// model: errno, zeroing (dirty memory reused included), usable sizes.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing::c_interface {

void Model::Malloc(FuzzInput& in) {
  const std::size_t size = DecodeSize(in);
  const std::size_t cost = Cost(size, 16);
  if (cost != SIZE_MAX && cost > Budget()) return;
  errno = kErrnoSentinel;
  void* p = c_api::Malloc(heap_, size);
  Expect(p, cost == SIZE_MAX ? ENOMEM : 0, size, 16, "malloc");
}

void Model::Calloc(FuzzInput& in) {
  const std::size_t count = DecodeCount(in);
  const std::size_t size = DecodeSize(in);
  std::size_t bytes;
  const bool overflows = __builtin_mul_overflow(count, size, &bytes);
  const bool fails = overflows || bytes >= kImpossible;
  if (!fails && bytes > Budget()) return;
  errno = kErrnoSentinel;
  void* p = c_api::Calloc(heap_, count, size);
  if (!fails && p != nullptr)
    CheckZero(static_cast<std::byte*>(p), bytes,
              "calloc gave memory not zeroed");
  Expect(p, fails ? ENOMEM : 0, bytes, 16, "calloc");
}

// A large block dirtied and freed, then calloc'd at the same size: the
// heap will likely hand the same memory back, so calloc must zero it.
void Model::DirtyThenCalloc(FuzzInput& in) {
  std::size_t size = DecodeSize(in);
  if (Cost(size, 16) == SIZE_MAX) size = in.Uint16() << 6;
  if (size > Budget()) return;
  void* dirty = c_api::Malloc(heap_, size);
  if (dirty == nullptr) Fail("malloc for the dirty block", size);
  std::memset(dirty, 0xff, size);
  work_ += 2 * (size / kPage);  // And calloc's memset.
  c_api::Free(heap_, dirty);
  errno = kErrnoSentinel;
  void* p = c_api::Calloc(heap_, 1, size);
  if (p == nullptr) Fail("calloc after a dirty free", size);
  CheckZero(static_cast<std::byte*>(p), size,
            "calloc reused dirty memory without zeroing");
  Admit(p, size, 16, Kind::kC, "calloc after a dirty free");
}

void Model::Free(FuzzInput& in) {
  const std::uint8_t how = in.Byte();
  if (live_.empty() || how % 16 == 0) {
    c_api::Free(heap_, nullptr);
    c_api::Delete(heap_, nullptr);
    if (c_api::MallocUsableSize(heap_, nullptr) != 0) {
      Fail("malloc_usable_size(nullptr) is not 0");
    }
    return;
  }
  Release(in.Uint16() % live_.size(), how % 2 == 0);
}

void Model::CheckBlock(FuzzInput& in) {
  if (live_.empty()) return;
  const Block& b = live_[in.Uint16() % live_.size()];
  if (c_api::MallocUsableSize(heap_, b.ptr) < b.size) {
    Fail("usable size shrank below the request", b.size);
  }
  CheckContents(b, b.size, "live block damaged");
}

// free_sized and free_aligned_sized (C23): a C block freed with the size
// it was asked for, as both of malloc.cc's functions do (the size, not
// the alignment, decides where a block lives).
void Model::FreeSized(FuzzInput& in) {
  const std::size_t index = PickC(in);
  if (index == SIZE_MAX) return;
  ++work_;
  const Block b = live_[index];
  CheckContents(b, b.size, "block damaged before free_sized");
  Forget(index);
  c_api::FreeSized(heap_, b.ptr, b.size);
}

}  // namespace rusty_malloc::fuzzing::c_interface

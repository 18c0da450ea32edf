// Part of malloc_fuzzer: the model's bookkeeping that every family of
// operations shares (see model.h): admitting a block the heap handed out,
// forgetting and releasing one, the checks of a result, and the run.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing::c_interface {

void Model::Run(FuzzInput& in) {
  while (!in.empty() && work_ < kWorkPerInput) Step(in);
  FreeAll();
  // mallopt's setting is the process's: the next input starts from the
  // default, as a program does.
  TheTunables().retained_bytes_max.store(retained_bytes_max_);
  const HeapStats stats = heap_.Stats();
  if (stats.allocated_blocks != 0) {
    Fail("blocks left allocated after freeing everything",
         stats.allocated_blocks);
  }
  const HeapReport report = heap_.Verify();
  if (!report.ok()) Require("Verify: " + report.ToString());
}

void Model::CheckContents(const Block& b, std::size_t upto, const char* what) {
  const std::size_t bad = FirstDamage(b.ptr, b.size, b.id, upto);
  if (bad != SIZE_MAX) Fail(what, b.size, bad);
}

void Model::CheckZero(const std::byte* p, std::size_t size, const char* what) {
  work_ += size / kPage;
  static const std::byte kZeros[4096] = {};
  for (std::size_t at = 0; at < size; at += sizeof(kZeros)) {
    const std::size_t n = std::min(sizeof(kZeros), size - at);
    if (std::memcmp(p + at, kZeros, n) != 0) Fail(what, size, at);
  }
}

// A block the heap handed out: where it is, how large, and that it
// overlaps nothing live; then it takes a fresh pattern.
void Model::Admit(void* raw, std::size_t size, std::size_t align, Kind kind,
                  const char* op) {
  auto* p = static_cast<std::byte*>(raw);
  if (p == nullptr) Fail(op, size, align);  // Callers check; belt and braces.
  if (reinterpret_cast<std::uintptr_t>(p) % align != 0) {
    Fail("misaligned block", size, align);
  }
  const std::size_t usable = c_api::MallocUsableSize(heap_, p);
  if (usable < size) Fail("usable size below the request", size, usable);
  auto next = ranges_.lower_bound(p);
  if (next != ranges_.end() && p + usable > next->first) {
    Fail("block overlaps the next live block", size, usable);
  }
  if (next != ranges_.begin() && std::prev(next)->second > p) {
    Fail("block overlaps the previous live block", size, usable);
  }
  ranges_.emplace_hint(next, p, p + usable);
  const Block b{p, size, align, next_id_++, kind, usable};
  usable_bytes_ += usable;
  FillBlock(p, size, b.id);
  live_.push_back(b);
  // The heap and ASan touch a block's pages (poisoning, copying on
  // realloc, faulting them in) even where the model does not.
  work_ += 1 + size / kPage;
  live_bytes_ += size + (align > 16 ? align : 0);
}

// Drops live_[index] from the model; the caller has freed or moved it.
void Model::Forget(std::size_t index) {
  const Block& b = live_[index];
  ranges_.erase(b.ptr);
  usable_bytes_ -= b.usable;
  live_bytes_ -= b.size + (b.align > 16 ? b.align : 0);
  live_[index] = live_.back();
  live_.pop_back();
}

void Model::Release(std::size_t index, bool sized) {
  ++work_;
  const Block b = live_[index];
  CheckContents(b, b.size, "block damaged before free");
  Forget(index);
  if (b.kind == Kind::kC) {
    c_api::Free(heap_, b.ptr);
  } else if (sized) {
    c_api::SizedDelete(heap_, b.ptr, b.size);
  } else {
    c_api::Delete(heap_, b.ptr);
  }
}

void Model::FreeAll() {
  while (!live_.empty()) Release(live_.size() - 1, true);
}

// The result of a function that sets errno: nullptr with `failure` when
// the model says it must fail, a block otherwise.
void Model::Expect(void* p, int failure, std::size_t size, std::size_t align,
                   const char* op) {
  if (failure != 0) {
    if (p != nullptr) Fail(op, size, align);
    ExpectErrno(op, failure);
    return;
  }
  if (p == nullptr) Fail(op, size, align);
  Admit(p, size, align, Kind::kC, op);
}

// Picks a live block from C's functions; nullptr's index when none.
std::size_t Model::PickC(FuzzInput& in) {
  if (live_.empty()) return SIZE_MAX;
  const std::size_t index = in.Uint16() % live_.size();
  return live_[index].kind == Kind::kC ? index : SIZE_MAX;
}

// The heaps' chunks: what Stats() counts beyond the medium heap.
std::size_t Model::ChunkBytes(const HeapStats& stats) {
  return stats.heap_bytes - heap_.medium().Stats().heap_bytes;
}

}  // namespace rusty_malloc::fuzzing::c_interface

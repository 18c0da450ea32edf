#include "bench/replay_allocator.h"

#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>

#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "allocator/drop_in/c_api.h"
#include "allocator/drop_in/operator_new.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "growers/brk_grower.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc::replay {
namespace {

// `align` rounded up to a power of two, at least `floor`; 0 when no such
// power of two exists.
std::size_t RoundedAlignment(std::size_t align, std::size_t floor) {
  if (align > (SIZE_MAX >> 1) + 1) return 0;
  return std::max(std::bit_ceil(align), floor);
}

std::size_t PosixAlignment(std::size_t align) {
  return RoundedAlignment(align, sizeof(void*));
}

// The process's allocator, through the plain calls, so that LD_PRELOAD
// decides which one it is.
class SystemAllocator final : public Allocator {
 public:
  // glibc 2.36 has no free_sized; a preloaded allocator may.
  SystemAllocator()
      : free_sized_(reinterpret_cast<void (*)(void*, std::size_t)>(
            dlsym(RTLD_DEFAULT, "free_sized"))) {}

  void* Malloc(std::size_t size) override { return std::malloc(size); }
  void* Calloc(std::size_t count, std::size_t size) override {
    return std::calloc(count, size);
  }
  void* Realloc(void* ptr, std::size_t size) override {
    return std::realloc(ptr, size);
  }
  void* AlignedAlloc(std::size_t align, std::size_t size) override {
    const std::size_t valid = PosixAlignment(align);
    void* p = nullptr;
    if (valid == 0 || posix_memalign(&p, valid, size) != 0) return nullptr;
    return p;
  }
  void Free(void* ptr) override { std::free(ptr); }
  void FreeSized(void* ptr, std::size_t size) override {
    if (free_sized_ != nullptr) return free_sized_(ptr, size);
    std::free(ptr);
  }
  std::size_t UsableSize(void* ptr) override { return malloc_usable_size(ptr); }
  void* New(std::size_t size, std::size_t align) override {
    if (align == 0) return ::operator new(size, std::nothrow);
    const std::size_t valid = RoundedAlignment(align, 1);
    if (valid == 0) return nullptr;
    return ::operator new (size, std::align_val_t{valid}, std::nothrow);
  }
  void Delete(void* ptr, std::size_t align) override {
    if (ptr == nullptr) return;
    if (align == 0) return ::operator delete(ptr);
    ::operator delete (ptr, std::align_val_t{RoundedAlignment(align, 1)});
  }
  void DeleteSized(void* ptr, std::size_t size, std::size_t align) override {
    if (ptr == nullptr) return;
    if (align == 0) return ::operator delete(ptr, size);
    ::operator delete (ptr, size, std::align_val_t{RoundedAlignment(align, 1)});
  }

 private:
  void (*const free_sized_)(void*, std::size_t);
};

// One of this project's heaps, with the drop-in's semantics for each call
// (c_api.h, operator_new.h): glibc's corners, as LD_PRELOAD would give.
template <typename H>
class HeapAllocator final : public Allocator {
 public:
  template <typename... Args>
  explicit HeapAllocator(Args&&... args) : heap_(std::forward<Args>(args)...) {}

  void* Malloc(std::size_t size) override { return c_api::Malloc(heap_, size); }
  void* Calloc(std::size_t count, std::size_t size) override {
    return c_api::Calloc(heap_, count, size);
  }
  void* Realloc(void* ptr, std::size_t size) override {
    return c_api::Realloc(heap_, ptr, size);
  }
  void* AlignedAlloc(std::size_t align, std::size_t size) override {
    const std::size_t valid = PosixAlignment(align);
    void* p = nullptr;
    if (valid == 0 || c_api::PosixMemalign(heap_, &p, valid, size) != 0) {
      return nullptr;
    }
    return p;
  }
  void Free(void* ptr) override { c_api::Free(heap_, ptr); }
  void FreeSized(void* ptr, std::size_t size) override {
    c_api::FreeSized(heap_, ptr, size);
  }
  std::size_t UsableSize(void* ptr) override {
    return c_api::MallocUsableSize(heap_, ptr);
  }
  void* New(std::size_t size, std::size_t align) override {
    const std::size_t valid =
        align == 0 ? c_api::kNewAlignment : RoundedAlignment(align, 1);
    if (valid == 0) return nullptr;
    return c_api::NewNoThrow(heap_, size, valid);
  }
  // The heaps need no alignment to free a block.
  void Delete(void* ptr, std::size_t /*align*/) override {
    c_api::Delete(heap_, ptr);
  }
  void DeleteSized(void* ptr, std::size_t size,
                   std::size_t /*align*/) override {
    c_api::SizedDelete(heap_, ptr, size);
  }

 private:
  H heap_;
};

// RawMalloc is for one thread: every call behind one mutex.
template <typename H>
class Locked {
 public:
  template <typename... Args>
  explicit Locked(Args&&... args) : heap_(std::forward<Args>(args)...) {}

  void* Allocate(std::size_t size, std::size_t align) {
    std::lock_guard hold(mutex_);
    return heap_.Allocate(size, align);
  }
  void Deallocate(void* ptr) {
    std::lock_guard hold(mutex_);
    heap_.Deallocate(ptr);
  }
  void* Reallocate(void* ptr, std::size_t size, std::size_t align) {
    std::lock_guard hold(mutex_);
    return heap_.Reallocate(ptr, size, align);
  }
  std::size_t UsableSize(void* ptr) {
    std::lock_guard hold(mutex_);
    return heap_.UsableSize(ptr);
  }

 private:
  std::mutex mutex_;
  H heap_;
};

// The drop-in's locked variant's reservation (drop_in/global_heap.cc):
// 4 MiB at first, doubling in place up to 64 GiB, committed 1 MiB at a time.
MmapGrower BigReservation() {
  return MmapGrower(/*reserve_bytes=*/std::size_t{64} << 30,
                    /*commit_step=*/1 << 20,
                    /*first_reserve_bytes=*/4 << 20);
}

}  // namespace

std::unique_ptr<Allocator> MakeAllocator(std::string_view name) {
  if (name == "system") return std::make_unique<SystemAllocator>();
  if (name == "per_thread") {
    return std::make_unique<HeapAllocator<PerThreadMalloc<MmapChunkSource>>>();
  }
  if (name == "locked") {
    return std::make_unique<
        HeapAllocator<RustyMalloc<MmapGrower, SegregatedFreeList>>>(
        BigReservation());
  }
  if (name == "raw_mmap") {
    return std::make_unique<HeapAllocator<Locked<RawMalloc<MmapGrower>>>>(
        BigReservation());
  }
  if (name == "raw_brk") {
    // As the drop-in's brk variant. glibc's malloc moves the break too; the
    // grower then refuses to grow (BrkGrower), and allocations fail.
    return std::make_unique<HeapAllocator<Locked<RawMalloc<BrkGrower>>>>(
        BrkGrower(/*increment=*/1 << 20));
  }
  return nullptr;
}

}  // namespace rusty_malloc::replay

// The drop-in's C interface as the preload library exports it
// (allocator/drop_in/malloc.cc): malloc, free, free_sized,
// free_aligned_sized, calloc, realloc, reallocarray, aligned_alloc,
// posix_memalign, memalign, valloc, pvalloc, malloc_usable_size,
// malloc_trim, mallopt, the statistics (mallinfo2, mallinfo, malloc_stats,
// malloc_info, rusty_malloc_print_stats) and operator new/delete. Each is
// what malloc.cc's function does, on a local per-thread allocator instead
// of the global one: the same templates (c_api.h, operator_new.h), the same
// mallopt on the process's tunables, the same formatting of the same
// Stats(). Checked against a model: glibc's errno and return-value corners,
// alignment, usable sizes, calloc's zeroing, realloc keeping contents, no
// two live blocks overlapping, statistics that add up and agree with the
// model, and what malloc_trim must give back. A local heap, because the
// fuzzer's process runs on the sanitizer's malloc; one heap for the whole
// run, because building a PerThreadMalloc costs more than most inputs take
// to run. (One harness rather than one per group of functions: they all act
// on the same blocks, which one model tracks.)
//
// A few operations act at scale (up to thousands of blocks, a block grown
// through many doublings), so short inputs reach whole pages, chunks and the
// medium heap. A work budget per input (kWorkPerInput) keeps every input
// around a millisecond: it bounds those operations before they reach their
// full scale.

// The model's map is not what is being fuzzed. First, so that this region
// is where its templates are defined.
#include "testing/no_coverage.h"
RUSTY_MALLOC_NO_COVERAGE_BEGIN
#include <map>
#include <memory_resource>
RUSTY_MALLOC_NO_COVERAGE_END

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/common/tunables.h"
#include "allocator/drop_in/c_api.h"
#include "allocator/drop_in/mallopt.h"
#include "allocator/drop_in/operator_new.h"
#include "allocator/drop_in/stats_format.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/per_thread_malloc.h"
#include "fuzz/fuzz_input.h"
#include "testing/patterns.h"

namespace rusty_malloc::fuzzing {
namespace {

using Heap = PerThreadMalloc<MmapChunkSource>;

// Sizes at least this large must fail: the heap's address space (a 1 GiB
// chunk reservation, a 64 GiB medium heap) cannot hold them. Every size the
// harness asks for is either below kLiveCap or at least this.
constexpr std::size_t kImpossible = std::size_t{1} << 40;
// Alignments above kMaxAlignment (2^46) must fail. Those between it and
// 1 MiB are never asked for: whether the reservation happens to hold such an
// address is luck, and when it does, reaching it commits gigabytes.
constexpr std::size_t kImpossibleAlign = kMaxAlignment << 1;
// Bounds what the model keeps live, so no input runs out of memory.
constexpr std::size_t kLiveCap = std::size_t{64} << 20;
// Bounds the work one input may ask for, in operations, blocks allocated or
// freed and pages written (about a microsecond each under ASan), so that no
// input runs long: the rest of a long input is ignored.
constexpr std::size_t kWorkPerInput = 1024;
// Set before each call, so a function that should leave errno alone is
// caught changing it.
constexpr int kErrnoSentinel = 4242;

const std::size_t kPage = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

// Independent of c_api.h on purpose: this is what glibc documents, written
// again, not the implementation's arithmetic reused.
std::size_t AlignmentServed(std::size_t align) {
  std::size_t served = 16;
  while (served < align) served <<= 1;
  return served;
}

bool IsPowerOfTwo(std::size_t x) { return x != 0 && (x & (x - 1)) == 0; }

// Every size decodes to one that fits under kLiveCap or one of at least
// kImpossible, so each request has one right answer.
std::size_t DecodeSize(FuzzInput& in) {
  const auto [shape, v] = in.ShapedValue(16);
  if (shape < 6) return v % 256;
  if (shape < 10) return v % 4096;
  if (shape < 12) return v;        // Across the small classes' 32 KiB limit.
  if (shape == 12) return v << 2;  // Up to 256 KiB: the medium heap.
  if (shape == 13) {
    // Edges: class limits, pages, chunks, off by a little either way.
    static constexpr std::size_t kEdges[] = {
        0,       1,         8,         16,        32,
        4096,    32 << 10,  64 << 10,  1 << 20,   4 << 20,
        8 << 20, 128 << 10, 256 << 10, 512 << 10, 16 << 20};
    const std::size_t edge = kEdges[v % std::size(kEdges)];
    const std::size_t delta = (v >> 4) % 33;
    return (v >> 9) % 2 == 0 ? edge + delta : edge - std::min(edge, delta);
  }
  if (shape == 14) return (v % 256) << 12;  // Whole pages, up to 1 MiB.
  static constexpr std::size_t kHuge[] = {SIZE_MAX,
                                          SIZE_MAX - 1,
                                          SIZE_MAX - 4096,
                                          SIZE_MAX / 2,
                                          SIZE_MAX / 2 + 1,
                                          kImpossible,
                                          std::size_t{1} << 47,
                                          (std::size_t{1} << 48) - 16,
                                          std::size_t{1} << 62};
  return std::max(kImpossible, kHuge[v % std::size(kHuge)] - (v >> 8) % 4);
}

// Element counts for calloc and reallocarray, some chosen to overflow the
// multiplication.
std::size_t DecodeCount(FuzzInput& in) {
  const auto [shape, v] = in.ShapedValue(8);
  if (shape < 3) return v % 16;
  if (shape < 5) return v % 1024;
  if (shape == 5) return v;
  if (shape == 6) return SIZE_MAX >> (v % 64);
  return (SIZE_MAX / 2 + 1) >> (v % 32);
}

// Any alignment, valid or not: powers of two up to 64 KiB mostly, then the
// values each function treats differently.
std::size_t DecodeAlign(FuzzInput& in) {
  const std::uint8_t b = in.Byte();
  if (b < 0xd0) return std::size_t{1} << (b % 17);
  static constexpr std::size_t kOdd[] = {0,
                                         2,
                                         3,
                                         4,
                                         8,
                                         12,
                                         24,
                                         48,
                                         100,
                                         4097,
                                         65535,
                                         std::size_t{1} << 20,
                                         kImpossibleAlign,
                                         kImpossibleAlign << 4,
                                         std::size_t{1} << 62,
                                         SIZE_MAX / 2,
                                         SIZE_MAX / 2 + 1,
                                         SIZE_MAX / 2 + 2,
                                         SIZE_MAX};
  return kOdd[b % std::size(kOdd)];
}

enum class Kind : std::uint8_t { kC, kNew };

struct Block {
  std::byte* ptr;
  std::size_t size;
  std::size_t align;  // What the caller asked for, as served (>= 16).
  std::uint64_t id;
  Kind kind;
  std::size_t usable;  // malloc_usable_size when it was admitted.
};

// Patterns cover a block's first two words, its end, and one word in
// StrideOf(size) (testing::FillPattern's stride), so that a large block
// costs a few KiB to fill and check (and faults in a few pages) rather than
// all of it.
std::size_t StrideOf(std::size_t size) {
  return std::max<std::size_t>(128, size / 8 / 64);
}

void FillBlock(std::byte* p, std::size_t size, std::uint64_t id) {
  testing::FillPattern(p, size, id, StrideOf(size));
}

// The offset of the first byte below `upto` that FillBlock(p', size, id)
// wrote and `p` does not hold, or SIZE_MAX.
std::size_t FirstDamage(const std::byte* p, std::size_t size, std::uint64_t id,
                        std::size_t upto) {
  const std::size_t bad =
      testing::FirstPatternMismatch(p, upto, id, StrideOf(size), size);
  return bad == upto ? SIZE_MAX : bad;
}

class Model {
 public:
  Model(Heap& heap, std::pmr::memory_resource* pool)
      : heap_(heap),
        ranges_(pool),
        retained_bytes_max_(TheTunables().retained_bytes_max.load()) {}
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  void Run(FuzzInput& in) {
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

 private:
  [[noreturn]] static void Fail(const char* what, std::size_t a = 0,
                                std::size_t b = 0) {
    Require(std::string(what) + " (" + std::to_string(a) + ", " +
            std::to_string(b) + ")");
    __builtin_unreachable();
  }

  // The most the next request may add: bounded by live memory, and by the
  // work left to this input (a request's pages are written about twice:
  // by the heap or calloc, then by the model).
  std::size_t Budget() const {
    const std::size_t work_left =
        work_ < kWorkPerInput ? (kWorkPerInput - work_) * kPage / 2 : 0;
    return std::min(kLiveCap - live_bytes_, work_left);
  }

  // What a request for `size` at `align` would add to live memory, or
  // SIZE_MAX for a request that must fail.
  static std::size_t Cost(std::size_t size, std::size_t align) {
    if (size >= kImpossible || align >= kImpossibleAlign) return SIZE_MAX;
    return size + (align > 16 ? align : 0);
  }

  static void ExpectErrno(const char* op, int expected) {
    if (errno != expected) {
      Fail(op, static_cast<std::size_t>(errno),
           static_cast<std::size_t>(expected));
    }
  }

  static void CheckContents(const Block& b, std::size_t upto,
                            const char* what) {
    const std::size_t bad = FirstDamage(b.ptr, b.size, b.id, upto);
    if (bad != SIZE_MAX) Fail(what, b.size, bad);
  }

  void CheckZero(const std::byte* p, std::size_t size, const char* what) {
    work_ += size / kPage;
    static const std::byte kZeros[4096] = {};
    for (std::size_t at = 0; at < size; at += sizeof(kZeros)) {
      const std::size_t n = std::min(sizeof(kZeros), size - at);
      if (std::memcmp(p + at, kZeros, n) != 0) Fail(what, size, at);
    }
  }

  // A block the heap handed out: where it is, how large, and that it
  // overlaps nothing live; then it takes a fresh pattern.
  void Admit(void* raw, std::size_t size, std::size_t align, Kind kind,
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
  void Forget(std::size_t index) {
    const Block& b = live_[index];
    ranges_.erase(b.ptr);
    usable_bytes_ -= b.usable;
    live_bytes_ -= b.size + (b.align > 16 ? b.align : 0);
    live_[index] = live_.back();
    live_.pop_back();
  }

  void Release(std::size_t index, bool sized) {
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

  void FreeAll() {
    while (!live_.empty()) Release(live_.size() - 1, true);
  }

  // The result of a function that sets errno: nullptr with `failure` when
  // the model says it must fail, a block otherwise.
  void Expect(void* p, int failure, std::size_t size, std::size_t align,
              const char* op) {
    if (failure != 0) {
      if (p != nullptr) Fail(op, size, align);
      ExpectErrno(op, failure);
      return;
    }
    if (p == nullptr) Fail(op, size, align);
    Admit(p, size, align, Kind::kC, op);
  }

  void Malloc(FuzzInput& in) {
    const std::size_t size = DecodeSize(in);
    const std::size_t cost = Cost(size, 16);
    if (cost != SIZE_MAX && cost > Budget()) return;
    errno = kErrnoSentinel;
    void* p = c_api::Malloc(heap_, size);
    Expect(p, cost == SIZE_MAX ? ENOMEM : 0, size, 16, "malloc");
  }

  void Calloc(FuzzInput& in) {
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
  void DirtyThenCalloc(FuzzInput& in) {
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

  // Picks a live block from C's functions; nullptr's index when none.
  std::size_t PickC(FuzzInput& in) {
    if (live_.empty()) return SIZE_MAX;
    const std::size_t index = in.Uint16() % live_.size();
    return live_[index].kind == Kind::kC ? index : SIZE_MAX;
  }

  // realloc and reallocarray once the byte count is known. `index` is
  // SIZE_MAX for realloc(nullptr, ...).
  void ReallocTo(std::size_t index, std::size_t bytes, bool fails,
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

  void Realloc(FuzzInput& in) {
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

  void ReallocArray(FuzzInput& in) {
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

  // memalign's verdict on (align, size): 0, EINVAL or ENOMEM, and the
  // alignment a success must have.
  static int MemalignVerdict(std::size_t align, std::size_t size,
                             std::size_t* served) {
    if (align > SIZE_MAX / 2 + 1) return EINVAL;
    *served = AlignmentServed(align);
    return Cost(size, *served) == SIZE_MAX ? ENOMEM : 0;
  }

  // An aligned request and its verdict: memalign's, for a function that
  // takes the alignments `valid` accepts (EINVAL for the others).
  struct AlignedRequest {
    std::size_t align;
    std::size_t size;
    std::size_t served;  // The alignment a success must have.
    int verdict;
  };
  // Decodes one, or nothing if it would take more than the budget.
  std::optional<AlignedRequest> DecodeAligned(FuzzInput& in,
                                              bool (*valid)(std::size_t)) {
    const std::size_t align = DecodeAlign(in);
    const std::size_t size = DecodeSize(in);
    std::size_t served = 16;
    const int verdict =
        valid(align) ? MemalignVerdict(align, size, &served) : EINVAL;
    if (verdict == 0 && Cost(size, served) > Budget()) return std::nullopt;
    return AlignedRequest{align, size, served, verdict};
  }

  void Memalign(FuzzInput& in) {
    const auto r = DecodeAligned(in, [](std::size_t) { return true; });
    if (!r) return;
    errno = kErrnoSentinel;
    void* p = c_api::Memalign(heap_, r->align, r->size);
    Expect(p, r->verdict, r->size, r->served, "memalign");
  }

  void AlignedAlloc(FuzzInput& in) {
    const auto r = DecodeAligned(in, IsPowerOfTwo);
    if (!r) return;
    errno = kErrnoSentinel;
    void* p = c_api::AlignedAlloc(heap_, r->align, r->size);
    Expect(p, r->verdict, r->size, r->served, "aligned_alloc");
  }

  void PosixMemalign(FuzzInput& in) {
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

  void Valloc(FuzzInput& in) {
    const std::size_t size = DecodeSize(in);
    const std::size_t cost = Cost(size, kPage);
    if (cost != SIZE_MAX && cost > Budget()) return;
    errno = kErrnoSentinel;
    void* p = c_api::Valloc(heap_, size);
    Expect(p, cost == SIZE_MAX ? ENOMEM : 0, size, kPage, "valloc");
  }

  void Pvalloc(FuzzInput& in) {
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

  void Free(FuzzInput& in) {
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

  void CheckBlock(FuzzInput& in) {
    if (live_.empty()) return;
    const Block& b = live_[in.Uint16() % live_.size()];
    if (c_api::MallocUsableSize(heap_, b.ptr) < b.size) {
      Fail("usable size shrank below the request", b.size);
    }
    CheckContents(b, b.size, "live block damaged");
  }

  void New(FuzzInput& in) {
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
  void NewHandler(FuzzInput& in) {
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

  // K blocks of one size from one function: fills pages and chunks.
  void AllocateMany(FuzzInput& in) {
    const std::uint8_t how = in.Byte();
    const std::size_t many = in.Uint16();
    // Thousands only now and then: they cost milliseconds.
    std::size_t count = 1 + ((how & 0x1c) == 0x1c ? many % 4096 : many % 64);
    std::size_t size = DecodeSize(in);
    if (Cost(size, 16) == SIZE_MAX) size %= 4096;
    count = std::min(count, Budget() / std::max<std::size_t>(size, 16));
    for (std::size_t i = 0; i < count && work_ < kWorkPerInput; ++i) {
      void* p;
      switch (how % 4) {
        case 0:
          p = c_api::Malloc(heap_, size);
          break;
        case 1:
          p = c_api::Calloc(heap_, 1, size);
          if (p != nullptr) {
            CheckZero(static_cast<std::byte*>(p), size,
                      "calloc gave memory not zeroed");
          }
          break;
        case 2:
          p = c_api::Realloc(heap_, nullptr, size);
          break;
        default:
          p = c_api::NewNoThrow(heap_, size, c_api::kNewAlignment);
          break;
      }
      if (p == nullptr) Fail("allocating many", size, i);
      Admit(p, size, 16, how % 4 == 3 ? Kind::kNew : Kind::kC,
            "allocating many");
    }
  }

  // Frees every other live block, leaving holes all over the heap.
  void FreeEveryOther(FuzzInput& in) {
    const std::size_t parity = in.Byte() % 2;
    for (std::size_t i = live_.size(); i-- > 0;) {
      if (i % 2 == parity) Release(i, i % 4 < 2);
    }
  }

  // One block through many doublings: from a small class into the medium
  // heap, its contents checked at every step.
  void ReallocGrow(FuzzInput& in) {
    std::size_t index = PickC(in);
    const int steps = 1 + in.Byte() % 20;
    if (index == SIZE_MAX) return;
    for (int i = 0; i < steps && work_ < kWorkPerInput; ++i) {
      const Block b = live_[index];
      const std::size_t bytes = std::max<std::size_t>(b.size * 2, 1) + i % 3;
      if (bytes > Budget() + b.size) return;
      void* p = c_api::Realloc(heap_, b.ptr, bytes);
      if (p == nullptr) Fail("realloc growing a block", bytes);
      CheckContents(
          Block{static_cast<std::byte*>(p), b.size, b.align, b.id, b.kind, 0},
          b.size, "growing realloc lost contents");
      Forget(index);
      Admit(p, bytes, 16, Kind::kC, "realloc growing a block");
      index = live_.size() - 1;
    }
  }

  // operator new, with a new-handler installed one time in four.
  void NewMaybeWithHandler(FuzzInput& in) {
    return in.Byte() % 4 == 0 ? NewHandler(in) : New(in);
  }

  // free_sized and free_aligned_sized (C23): a C block freed with the size
  // it was asked for, as both of malloc.cc's functions do (the size, not
  // the alignment, decides where a block lives).
  void FreeSized(FuzzInput& in) {
    const std::size_t index = PickC(in);
    if (index == SIZE_MAX) return;
    ++work_;
    const Block b = live_[index];
    CheckContents(b, b.size, "block damaged before free_sized");
    Forget(index);
    c_api::FreeSized(heap_, b.ptr, b.size);
  }

  // The heaps' chunks: what Stats() counts beyond the medium heap.
  std::size_t ChunkBytes(const HeapStats& stats) {
    return stats.heap_bytes - heap_.medium().Stats().heap_bytes;
  }

  // malloc_trim: 0 or 1 (not "nothing left", as a second call may
  // decommit the medium heap's free blocks again and say 1, as glibc's
  // does), the live blocks intact, and the footprint oracle exactly: the
  // fuzzer's thread has the heap's only thread heap, which the trim purged
  // (every empty page retired, every chunk without a page in use released), so
  // the heap keeps exactly the chunks where a live small block lies. A chunk
  // kept empty, or a page decommitted under a live block, fails.
  void MallocTrim(FuzzInput& in) {
    const std::size_t pad = DecodeSize(in);
    work_ += 8;  // A walk of every page, and the kernel's work.
    const int result = c_api::MallocTrim(heap_, pad);
    if (result != 0 && result != 1) {
      Fail("malloc_trim's result", static_cast<std::size_t>(result));
    }
    std::vector<const void*> chunks;
    for (const Block& b : live_) {
      if (heap_.source().Contains(b.ptr)) chunks.push_back(ChunkOf(b.ptr));
    }
    std::sort(chunks.begin(), chunks.end());
    const auto in_use = static_cast<std::size_t>(
        std::unique(chunks.begin(), chunks.end()) - chunks.begin());
    const std::size_t held = ChunkBytes(heap_.Stats());
    if (held != in_use * kChunkSize) {
      Fail("malloc_trim left chunks without a live block", held / kChunkSize,
           in_use);
    }
    if (!live_.empty()) {
      const Block& b = live_[in.Uint16() % live_.size()];
      CheckContents(b, b.size, "malloc_trim damaged a live block");
    }
  }

  // mallopt as malloc.cc's: M_TRIM_THRESHOLD sets the retained-memory
  // bound (the value converted as glibc does: -1 is no bound), which the
  // heap's chunk source and large-block cache then follow; M_CHECK_ACTION
  // accepts the values that abort; every other parameter is refused and
  // changes nothing. Run() restores the bound after the input.
  void Mallopt(FuzzInput& in) {
    static constexpr int kParams[] = {M_TRIM_THRESHOLD,
                                      M_TRIM_THRESHOLD,
                                      M_CHECK_ACTION,
                                      M_MXFAST,
                                      M_TOP_PAD,
                                      M_MMAP_THRESHOLD,
                                      M_MMAP_MAX,
                                      M_PERTURB,
                                      M_ARENA_TEST,
                                      M_ARENA_MAX,
                                      0,
                                      999};
    const int param = kParams[in.Byte() % std::size(kParams)];
    const auto [shape, v] = in.ShapedValue(8);
    static constexpr int kEdges[] = {-1, 0, 1, INT_MAX, INT_MIN, -4096};
    const int value = shape < 2   ? kEdges[v % std::size(kEdges)]
                      : shape < 5 ? static_cast<int>(v << (shape * 4))
                                  : static_cast<int>(v);
    Tunables& tunables = TheTunables();
    const std::size_t before = tunables.retained_bytes_max.load();
    const int result = ApplyMallopt(param, value, tunables) ? 1 : 0;
    const std::size_t after = tunables.retained_bytes_max.load();
    int expected = 0;
    std::size_t bound = before;
    if (param == M_TRIM_THRESHOLD) {
      expected = 1;
      bound = static_cast<std::size_t>(value);
    } else if (param == M_CHECK_ACTION) {
      expected = (value & 2) != 0 ? 1 : 0;
    }
    if (result != expected || after != bound) {
      Fail("mallopt", static_cast<std::size_t>(param),
           static_cast<std::size_t>(value));
    }
  }

  // The statistics functions, each as malloc.cc builds it from one
  // Stats(): the figures against the model (blocks exactly; bytes at least
  // the live blocks' usable sizes, as block bytes include headers) and
  // against each other (heap_report.h), then every shape malloc.cc prints,
  // in the buffer it prints them from, read back.
  void Statistics(FuzzInput& in) {
    work_ += 8;
    const HeapStats s = heap_.Stats();
    if (s.allocated_blocks != live_.size()) {
      Fail("Stats' block count is not the model's", s.allocated_blocks,
           live_.size());
    }
    if (s.allocated_bytes < usable_bytes_) {
      Fail("Stats' allocated bytes are below the live blocks' usable sizes",
           s.allocated_bytes, usable_bytes_);
    }
    if (s.allocated_bytes + s.free_bytes + s.overhead_bytes != s.heap_bytes ||
        s.largest_free_block > s.free_bytes ||
        (s.free_blocks == 0) != (s.free_bytes == 0) ||
        s.committed_bytes > s.reserved_bytes ||
        ChunkBytes(s) > s.committed_bytes) {
      Fail("Stats' figures do not add up", s.heap_bytes, s.committed_bytes);
    }
    const struct mallinfo2 info = ToMallinfo2(s);
    if (info.arena != s.heap_bytes || info.uordblks != s.allocated_bytes ||
        info.fordblks != s.free_bytes || info.ordblks != s.free_blocks ||
        info.smblks != 0 || info.hblks != 0 || info.hblkhd != 0 ||
        info.usmblks != 0 || info.fsmblks != 0 || info.keepcost != 0) {
      Fail("mallinfo2 does not show Stats()", info.arena, s.heap_bytes);
    }
    const struct mallinfo narrow = ToMallinfo(info);
    auto saturated = [](std::size_t x) {
      return static_cast<int>(std::min<std::size_t>(x, INT_MAX));
    };
    if (narrow.arena != saturated(info.arena) ||
        narrow.uordblks != saturated(info.uordblks) ||
        narrow.fordblks != saturated(info.fordblks) ||
        narrow.ordblks != saturated(info.ordblks)) {
      Fail("mallinfo is not mallinfo2 saturated", info.arena);
    }
    // malloc.cc's WriteStats formats into 640 bytes on its stack.
    char text[640];
    std::size_t figures[8] = {};
    switch (in.Byte() % 4) {
      case 0: {  // rusty_malloc_print_stats, RUSTY_MALLOC_STATS=1.
        CheckFormatted(FormatStatsText(s, text, sizeof(text)), text,
                       sizeof(text));
        const int n = std::sscanf(
            text,
            "rusty_malloc: heap %zu bytes, %zu blocks allocated (%zu bytes), "
            "%zu free blocks (%zu bytes); %zu bytes reserved, %zu committed, "
            "%zu resident\n",
            &figures[0], &figures[1], &figures[2], &figures[3], &figures[4],
            &figures[5], &figures[6], &figures[7]);
        const std::size_t want[8] = {s.heap_bytes,      s.allocated_blocks,
                                     s.allocated_bytes, s.free_blocks,
                                     s.free_bytes,      s.reserved_bytes,
                                     s.committed_bytes, s.resident_bytes};
        if (n != 8 || !std::equal(figures, figures + 8, want)) {
          Fail("rusty_malloc_print_stats' text does not read back", n);
        }
        break;
      }
      case 1: {  // RUSTY_MALLOC_STATS=json.
        CheckFormatted(FormatStatsJson(s, text, sizeof(text)), text,
                       sizeof(text));
        const int n = std::sscanf(
            text,
            "{\"allocator\": \"rusty_malloc\", \"heap_bytes\": %zu, "
            "\"allocated_blocks\": %zu, \"allocated_bytes\": %zu, "
            "\"free_blocks\": %zu, \"free_bytes\": %zu",
            &figures[0], &figures[1], &figures[2], &figures[3], &figures[4]);
        const std::size_t want[5] = {s.heap_bytes, s.allocated_blocks,
                                     s.allocated_bytes, s.free_blocks,
                                     s.free_bytes};
        if (n != 5 || !std::equal(figures, figures + 5, want)) {
          Fail("the JSON statistics do not read back", n);
        }
        break;
      }
      case 2: {  // malloc_stats.
        CheckFormatted(FormatGlibcMallocStats(s, text, sizeof(text)), text,
                       sizeof(text));
        const int n = std::sscanf(text,
                                  "Arena 0:\nsystem bytes     = %zu\n"
                                  "in use bytes     = %zu\n",
                                  &figures[0], &figures[1]);
        if (n != 2 || figures[0] != s.heap_bytes ||
            figures[1] != s.allocated_bytes) {
          Fail("malloc_stats' text does not read back", n);
        }
        break;
      }
      default: {  // malloc_info(0, stream).
        char xml[2048] = {};
        FILE* out = fmemopen(xml, sizeof(xml), "w");
        if (out == nullptr) break;
        const int length = WriteGlibcMallocInfo(s, out);
        std::fclose(out);
        char expected[96];
        std::snprintf(expected, sizeof(expected),
                      "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>",
                      s.free_blocks, s.free_bytes);
        if (length <= 0 ||
            std::strlen(xml) != static_cast<std::size_t>(length) ||
            std::strncmp(xml, "<malloc version=\"1\">\n", 21) != 0 ||
            std::strstr(xml, expected) == nullptr ||
            std::strcmp(xml + length - 10, "</malloc>\n") != 0) {
          Fail("malloc_info's XML", static_cast<std::size_t>(length));
        }
        break;
      }
    }
  }

  // A statistics line as malloc.cc writes it: it fits the buffer whole
  // (the writer drops what does not), NUL-terminated where the length says.
  static void CheckFormatted(int length, const char* text, std::size_t size) {
    if (length <= 0 || static_cast<std::size_t>(length) >= size ||
        std::strlen(text) != static_cast<std::size_t>(length) ||
        text[length - 1] != '\n') {
      Fail("a statistics line does not fit malloc.cc's buffer",
           static_cast<std::size_t>(length), size);
    }
  }

  void Step(FuzzInput& in) {
    // What each value of the op byte picks, modulo 22 (the checked-in
    // corpora rely on the mapping); malloc and free have two values each.
    static constexpr void (Model::*kOps[])(FuzzInput&) = {
        &Model::Malloc,
        &Model::Malloc,
        &Model::Calloc,
        &Model::DirtyThenCalloc,
        &Model::Realloc,
        &Model::ReallocArray,
        &Model::AlignedAlloc,
        &Model::PosixMemalign,
        &Model::Memalign,
        &Model::Valloc,
        &Model::Pvalloc,
        &Model::Free,
        &Model::Free,
        &Model::CheckBlock,
        &Model::NewMaybeWithHandler,
        &Model::AllocateMany,
        &Model::FreeEveryOther,
        &Model::ReallocGrow,
        &Model::FreeSized,
        &Model::MallocTrim,
        &Model::Mallopt,
        &Model::Statistics};
    static_assert(std::size(kOps) == 22);
    ++work_;
    (this->*kOps[in.Byte() % std::size(kOps)])(in);
  }

  Heap& heap_;
  std::vector<Block> live_;
  // Live blocks' usable extents. Its nodes come from a pool: one sanitizer
  // malloc per node would cost more than the heap operation it checks.
  std::pmr::map<std::byte*, std::byte*> ranges_;
  std::size_t live_bytes_ = 0;
  std::size_t usable_bytes_ = 0;  // The live blocks' usable sizes.
  std::uint64_t next_id_ = 0;
  std::size_t work_ = 0;
  // The retained-memory bound before the input, which mallopt may change.
  const std::size_t retained_bytes_max_;
};

}  // namespace

void FuzzOne(FuzzInput& in) {
  // Chunks are reserved lazily, so 1 GiB of address space costs nothing
  // until used.
  static Heap heap(std::size_t{1} << 30);
  static std::pmr::unsynchronized_pool_resource pool;
  Model model(heap, &pool);
  model.Run(in);
}

}  // namespace rusty_malloc::fuzzing

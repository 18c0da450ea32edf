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
//
// The harness's parts, in fuzz/c_interface/: the model (model.h, model.cc),
// the decoding of sizes and alignments (decode.h), a block's pattern
// (block.h), and one file per family of operations, which the op table
// below maps input bytes to.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing {
namespace c_interface {

void Model::Step(FuzzInput& in) {
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

}  // namespace c_interface

void FuzzOne(FuzzInput& in) {
  // Chunks are reserved lazily, so 1 GiB of address space costs nothing
  // until used.
  static c_interface::Heap heap(std::size_t{1} << 30);
  static std::pmr::unsynchronized_pool_resource pool;
  c_interface::Model model(heap, &pool);
  model.Run(in);
}

}  // namespace rusty_malloc::fuzzing

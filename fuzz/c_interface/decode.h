// Part of malloc_fuzzer (fuzz/malloc_fuzzer.cc): what its bytes decode to.
// Sizes, counts and alignments, each with one right answer, in one place,
// because every operation reads them the same way and the checked-in
// corpora rely on the decoding.

#ifndef RUSTY_MALLOC_FUZZ_C_INTERFACE_DECODE_H_
#define RUSTY_MALLOC_FUZZ_C_INTERFACE_DECODE_H_

#include <cstddef>

#include "allocator/contiguous/alignment.h"
#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing::c_interface {

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

// Independent of c_api.h on purpose: this is what glibc documents, written
// again, not the implementation's arithmetic reused.
std::size_t AlignmentServed(std::size_t align);

bool IsPowerOfTwo(std::size_t x);

// Every size decodes to one that fits under kLiveCap or one of at least
// kImpossible, so each request has one right answer.
std::size_t DecodeSize(FuzzInput& in);

// Element counts for calloc and reallocarray, some chosen to overflow the
// multiplication.
std::size_t DecodeCount(FuzzInput& in);

// Any alignment, valid or not: powers of two up to 64 KiB mostly, then the
// values each function treats differently.
std::size_t DecodeAlign(FuzzInput& in);

}  // namespace rusty_malloc::fuzzing::c_interface

#endif  // RUSTY_MALLOC_FUZZ_C_INTERFACE_DECODE_H_

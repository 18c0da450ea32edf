// What guarded_program.c and guarded_scenarios.c share: failing with a
// message, telling a guarded block from the pages around it without a
// fault, filling and checking blocks, and the scenarios' entry points.

#ifndef RUSTY_MALLOC_TESTS_WORKLOADS_GUARDED_PROGRAM_H_
#define RUSTY_MALLOC_TESTS_WORKLOADS_GUARDED_PROGRAM_H_

#include <stddef.h>
#include <stdint.h>

// Prints "guarded_program: FAIL <message>" to stderr and exits 1.
__attribute__((noreturn, format(printf, 1, 2))) void Fail(const char* format,
                                                          ...);

// Whether the byte at `p` can be read: the kernel copies it into a pipe, so
// an inaccessible page is EFAULT rather than a fault (which the allocator's
// handler would report). Any thread.
int IsReadable(const void* p);
size_t PageSize(void);

// Whether `p` is a block of the guarded pool: its page is accessible and
// the pages on both sides are not (a heap's neighbouring pages are).
int IsGuarded(const void* p);

// Fills `size` bytes of `p` with a pattern of `seed`; CheckPattern fails
// the program, naming `what`, if they no longer hold it.
void FillPattern(void* p, size_t size, unsigned seed);
void CheckPattern(const void* p, size_t size, unsigned seed, const char* what);

// malloc(size) until the block is guarded: a small size class whose
// front page still holds blocks from before sampling started serves them
// first, off the slow path. The blocks that are not guarded stay allocated
// (so that the list runs out). Fails the program if none is after many
// tries.
void* MallocGuarded(size_t size);

// Scenarios of guarded_scenarios.c, each returning the exit status after
// printing "<scenario> ok" when it passes.
int ReallocScenario(void);
int UsableSizeScenario(void);
int CallocScenario(void);
int AlignedScenario(void);
int ExhaustionScenario(void);
int ThreadsScenario(void);
int ForkScenario(void);
int ForkThreadsScenario(void);
int TrimScenario(void);

#endif  // RUSTY_MALLOC_TESTS_WORKLOADS_GUARDED_PROGRAM_H_

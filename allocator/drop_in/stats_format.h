#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_STATS_FORMAT_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_STATS_FORMAT_H_

// A heap's figures in the shapes programs read them: this library's own
// line and JSON object, and glibc's mallinfo2, mallinfo, malloc_stats and
// malloc_info. Pure functions into the caller's buffer, so the drop-in can
// use them where allocating is not allowed (at exit, with a broken heap) and
// tests can check them without replacing malloc.

#include <malloc.h>
#include <stdio.h>

#include <cstddef>
#include <cstdint>

#include "allocator/common/heap_report.h"
#include "allocator/sampling/sampler_stats.h"

namespace rusty_malloc {

// Each writes at most `size` bytes, NUL included, like snprintf, and returns
// the length it needed.
int FormatStatsText(const HeapStats& s, char* out, std::size_t size);
int FormatStatsJson(const HeapStats& s, char* out, std::size_t size);
// The sampler's line and JSON object: its stats, and the share of the
// process's CPU time so far (`cpu_ns`) that their time is.
int FormatSamplerStatsText(const SamplerStats& s, std::uint64_t cpu_ns,
                           char* out, std::size_t size);
int FormatSamplerStatsJson(const SamplerStats& s, std::uint64_t cpu_ns,
                           char* out, std::size_t size);
// glibc's malloc_stats layout, the whole heap as arena 0.
int FormatGlibcMallocStats(const HeapStats& s, char* out, std::size_t size);

// glibc's malloc_info XML, the whole heap as heap 0; the fprintf's result.
int WriteGlibcMallocInfo(const HeapStats& s, FILE* out);

// The whole heap as glibc's one arena: arena is what the heap holds,
// uordblks what is allocated, fordblks and ordblks what is free; the fields
// for fastbins and separately mapped blocks are 0.
[[nodiscard]] struct mallinfo2 ToMallinfo2(const HeapStats& s);
// mallinfo's int fields, each saturated at INT_MAX rather than wrapped.
[[nodiscard]] struct mallinfo ToMallinfo(const struct mallinfo2& info);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_STATS_FORMAT_H_

// Part of per_thread_lifecycle_fuzzer: how much one input may hold and
// check, per sanitizer, in one place because the model, the scenarios and
// the fork's child all stay within them.

#ifndef RUSTY_MALLOC_FUZZ_LIFECYCLE_BOUNDS_H_
#define RUSTY_MALLOC_FUZZ_LIFECYCLE_BOUNDS_H_

#include <cstddef>

namespace rusty_malloc::fuzzing::lifecycle {

#if defined(__SANITIZE_THREAD__)
#define RUSTY_MALLOC_FUZZ_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RUSTY_MALLOC_FUZZ_TSAN 1
#endif
#endif

// Patterns cover a block's first two words (where the allocator links a
// free block, so a block handed out twice or freed while live shows), its
// tail, and one word in kPatternStride: an input holds megabytes, and full
// patterns would cost more than everything else it does. Under TSan every
// word written or read is a call into its runtime (two fifths of an input's
// time at 32), and what TSan needs is the words the allocator touches too,
// the first and last; one word per 8 KiB keeps contents checked.
// Room for two and a half chunks of small blocks: enough for every multi-chunk
// path, and a bound on the pattern bytes each input writes and checks. On
// the mmap chunk source every page is fresh from the OS (a page fault, and
// under TSan four more for its shadow: an mmap input cost two and a half
// times a grower one), so that source gets less; with four threads' heaps
// that is still several chunks. One input in kMmapEvery runs on it; what it
// adds is mostly ASan's (its released chunks are poisoned), so TSan runs it
// half as often.
#if defined(RUSTY_MALLOC_FUZZ_TSAN)
constexpr std::size_t kPatternStride = 1024;
constexpr std::size_t kMaxLiveBytesMmap = std::size_t{4} << 20;
constexpr int kMmapEvery = 8;
#else
constexpr std::size_t kPatternStride = 32;
constexpr std::size_t kMaxLiveBytesMmap = std::size_t{6} << 20;
constexpr int kMmapEvery = 4;
#endif
constexpr std::size_t kMaxLiveBytesGrower = std::size_t{10} << 20;
constexpr std::size_t kMaxLiveBytesChild = std::size_t{1} << 20;
constexpr std::size_t kMaxLiveBlocks = 16384;

}  // namespace rusty_malloc::fuzzing::lifecycle

#endif  // RUSTY_MALLOC_FUZZ_LIFECYCLE_BOUNDS_H_

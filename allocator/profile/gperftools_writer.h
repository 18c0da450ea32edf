#ifndef RUSTY_MALLOC_ALLOCATOR_PROFILE_GPERFTOOLS_WRITER_H_
#define RUSTY_MALLOC_ALLOCATOR_PROFILE_GPERFTOOLS_WRITER_H_

#include "allocator/profile/heap_profile.h"

// A heap profile written in gperftools' legacy text format, which pprof
// (google-pprof, Debian's google-perftools) reads:
//
//   heap profile:  <objs>: <bytes> [ <objs>: <bytes>] @ heapprofile
//   <objs>: <bytes> [<objs>: <bytes>] @ 0x<pc> 0x<pc> ...   (per stack)
//   <blank line>
//   MAPPED_LIBRARIES:
//   <the contents of /proc/self/maps>
//
// Each pair is in use, then [allocated since the start]; the header holds
// their sums. The figures are the profile's estimates rounded to integers,
// and "heapprofile" tells pprof they need no scaling for the sampling
// rate. A stack's addresses are innermost first; pprof moves every one but
// the first back by one byte, from a return address into its call, so the
// writer moves the first back itself (the stacks hold return addresses
// only). The maps let pprof place addresses in shared objects and in a
// position-independent executable.
//
// Nothing here allocates or uses stdio: lines go out with write(2) through
// a small buffer on the stack. The stacks are written under the profile's
// lock (HeapProfile::Visit), so that the header's sums are those of the
// lines: sampled allocations and frees on other threads wait for it. A
// signal handler may write one only with WriteHeapProfileToPathIfIdle (the
// interrupted thread may hold the lock).

namespace rusty_malloc {

enum class ProfileView {
  kLive,  // In use: the live heap now.
  kPeak,  // In use: the live heap when it was at its largest.
};

// Writes `profile` to `fd`; false (errno set) if a write failed. In both
// views the allocated pair is what was allocated since the start.
bool WriteHeapProfile(int fd, const HeapProfile& profile, ProfileView view);

// Writes `profile` to a new file at `path` (mode 0644, an existing one
// truncated): false (errno set) if it cannot be opened or written.
bool WriteHeapProfileToPath(const char* path, const HeapProfile& profile,
                            ProfileView view);

enum class IdleWrite { kWritten, kBusy, kFailed };
// WriteHeapProfileToPath if no thread holds the profile's lock, else
// kBusy with nothing opened; async-signal-safe (open, read, write, close).
// The whole file is written under the lock.
IdleWrite WriteHeapProfileToPathIfIdle(const char* path,
                                       const HeapProfile& profile,
                                       ProfileView view);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PROFILE_GPERFTOOLS_WRITER_H_

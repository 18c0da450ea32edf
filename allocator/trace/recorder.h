#ifndef RUSTY_MALLOC_ALLOCATOR_TRACE_RECORDER_H_
#define RUSTY_MALLOC_ALLOCATOR_TRACE_RECORDER_H_

// Records a process's allocation calls into a trace file (trace_format.h)
// for the drop-in (RUSTY_MALLOC_TRACE). Never calls malloc: each thread
// appends to a buffer of its own, mapped from the OS, and writes it as one
// frame when it fills, when the thread exits and at exit. The only lock
// on the way is that buffer's own, which other threads take only at exit
// and fork; renaming a block takes one of AddressIds' 64 shard locks.
// Costs a bounded amount per call: a clock read, a table update, a few
// bytes, and a write() per 64 KiB.

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "allocator/common/spin_lock.h"
#include "allocator/trace/address_ids.h"
#include "allocator/trace/trace_format.h"

namespace rusty_malloc::trace {

// What a fork's child does: stop recording, or record to PATH.PID (a
// trace of its own, which starts with an allocation for every block it
// inherited, so it replays alone).
enum class ForkMode { kStop, kChild };

inline constexpr std::size_t kMaxTracePath = 1024;

class Recorder {
 public:
  constexpr Recorder() = default;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Starts recording into `path`: a new file, or PATH.PID when `path`
  // exists (a program this one exec'd records there rather than over its
  // parent's trace). "%p" in `path` becomes the process id. False, with
  // nothing recorded, when the file cannot be created or `path` is too
  // long. Call once, before other threads allocate.
  [[nodiscard]] bool Start(const char* path, ForkMode fork_mode);
  [[nodiscard]] bool on() const { return on_.load(std::memory_order_relaxed); }
  // The file being written (valid once Start succeeded).
  [[nodiscard]] const char* path() const { return path_; }

  // Each call after the operation it records, with its result; frees before
  // the block goes (the address may be reused the moment it does).
  void Allocated(Op op, std::uint64_t arg, std::uint64_t size, void* result);
  void Freeing(Op op, void* p, std::uint64_t size);
  // realloc: TakeForRealloc before, Reallocated after.
  [[nodiscard]] std::uint64_t TakeForRealloc(void* p);
  void Reallocated(void* old_p, std::uint64_t old_id, std::uint64_t size,
                   void* result);
  void UsableSize(void* p);

  // Flushes every thread's buffer and writes kEnd: the trace is complete
  // and records no more. Called at exit.
  void Finish();

  // fork(): the parent's calling thread holds every lock across it.
  void PrepareFork() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void AfterForkInParent() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void AfterForkInChild() ABSL_NO_THREAD_SAFETY_ANALYSIS;

 private:
  struct Buffer;
  void Append(Op op, const std::uint64_t* fields);
  void AppendAfterExit(Op op, const std::uint64_t* fields);
  Buffer* NewBuffer();
  void WriteAll(const unsigned char* bytes, std::size_t n);
  bool OpenFile(const char* path, bool exclusive);
  void StartThread(Buffer* buffer);
  static void ThreadExit(void* arg);

  std::atomic<bool> on_{false};      // Taking records.
  std::atomic<bool> broken_{false};  // A write failed: no more frames.
  bool fork_locked_ = false;  // Set by PrepareFork, in the forking thread.
  int fd_ = -1;
  ForkMode fork_mode_ = ForkMode::kStop;
  std::int64_t start_ns_ = 0;  // CLOCK_MONOTONIC at Start.
  pthread_key_t key_{};
  AddressIds ids_;
  SpinLock registry_lock_;
  Buffer* buffers_ ABSL_GUARDED_BY(registry_lock_) = nullptr;
  bool finished_ ABSL_GUARDED_BY(registry_lock_) = false;
  std::uint64_t next_thread_ ABSL_GUARDED_BY(registry_lock_) = 1;
  char path_[kMaxTracePath] = {};
  char base_path_[kMaxTracePath] = {};
};

}  // namespace rusty_malloc::trace

#endif  // RUSTY_MALLOC_ALLOCATOR_TRACE_RECORDER_H_

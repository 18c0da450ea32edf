#include "allocator/trace/recorder.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "allocator/common/log_line.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/os_memory.h"

namespace rusty_malloc::trace {

namespace {

// A frame's worth of records: a write() every 64 KiB at most.
constexpr std::size_t kPayloadBytes = (std::size_t{64} << 10) - 256;

}  // namespace

namespace recorder_internal {

// The calling thread's buffer, and what is left of it once its exit
// handler has run (thread-specific destructors that allocate after it).
struct ThreadTrace {
  void* buffer = nullptr;
  std::uint64_t thread = 0;
  std::int64_t last_ns = 0;
  bool exited = false;
};
// External linkage, as per_thread_internal::tls_slot: GNU ld turns the
// initial-exec relocation of a TLS variable with internal linkage in a
// shared library (our exports.lds hides the rest) into one against offset
// 0 of the module's TLS block, where tls_slot lives.
extern constinit thread_local ThreadTrace tls_trace
    __attribute__((tls_model("initial-exec")));
constinit thread_local ThreadTrace tls_trace
    __attribute__((tls_model("initial-exec")));

}  // namespace recorder_internal

namespace {

using recorder_internal::ThreadTrace;
using recorder_internal::tls_trace;

std::uint64_t Since(std::int64_t now, std::int64_t before) {
  return now > before ? static_cast<std::uint64_t>(now - before) : 0;
}

// Appends the decimal digits of `value` at `out`; returns the end.
char* PutDecimal(std::uint64_t value, char* out) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *out++ = digits[--n];
  return out;
}

// `path` + "." + the process id, into `out` (kMaxTracePath bytes; ExpandPath
// left room for the suffix).
void WithPid(const char* path, char* out) {
  const std::size_t n = std::strlen(path);
  std::memcpy(out, path, n);
  out[n] = '.';
  *PutDecimal(static_cast<std::uint64_t>(getpid()), out + n + 1) = '\0';
}

// `pattern` with "%p" as the process id, into `out`; false when too long.
bool ExpandPath(const char* pattern, char* out, std::size_t capacity) {
  char* at = out;
  char* const end = out + capacity - 32;  // Room for a ".PID" suffix.
  for (const char* p = pattern; *p != '\0'; ++p) {
    if (at >= end) return false;
    if (p[0] == '%' && p[1] == 'p') {
      at = PutDecimal(static_cast<std::uint64_t>(getpid()), at);
      ++p;
    } else {
      *at++ = *p;
    }
  }
  *at = '\0';
  return at != out;
}

// Recording never changes errno: it runs after the call it records set it.
class ErrnoKeeper {
 public:
  ErrnoKeeper() : saved_(errno) {}
  ~ErrnoKeeper() { errno = saved_; }
  ErrnoKeeper(const ErrnoKeeper&) = delete;
  ErrnoKeeper& operator=(const ErrnoKeeper&) = delete;

 private:
  int saved_;
};

}  // namespace

struct Recorder::Buffer {
  Recorder* owner = nullptr;
  SpinLock lock;
  std::uint64_t thread ABSL_GUARDED_BY(lock) = 0;
  std::int64_t last_ns ABSL_GUARDED_BY(lock) = 0;
  // Set when the trace is finished: what is left is dropped, so nothing
  // follows kEnd.
  bool dead ABSL_GUARDED_BY(lock) = false;
  std::size_t used ABSL_GUARDED_BY(lock) = 0;
  Buffer* next = nullptr;  // The registry's, under registry_lock_.
  Buffer* prev = nullptr;
  // The frame header goes right-aligned before the payload at a flush, so
  // that a frame is one write().
  unsigned char frame[kMaxFrameHeaderBytes + kPayloadBytes];
  unsigned char* payload() { return frame + kMaxFrameHeaderBytes; }

  // Writes what the buffer holds as one frame, unless the trace is
  // finished or broken, and empties it.
  void Flush() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock) {
    if (used == 0) return;
    if (!dead && !owner->broken_.load(std::memory_order_relaxed)) {
      unsigned char header[kMaxFrameHeaderBytes];
      const std::size_t n = EncodeFrameHeader(thread, used, header);
      unsigned char* start = payload() - n;
      std::memcpy(start, header, n);
      owner->WriteAll(start, n + used);
    }
    used = 0;
  }
};

bool Recorder::OpenFile(const char* path, bool exclusive) {
  const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
                    (exclusive ? O_EXCL : O_TRUNC);
  int fd;
  do {
    fd = open(path, flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return false;
  fd_ = fd;
  std::strcpy(path_, path);
  unsigned char header[kHeaderBytes];
  EncodeHeader({kVersion, static_cast<std::uint64_t>(getpid()),
                static_cast<std::uint64_t>(ClockNs(CLOCK_REALTIME))},
               header);
  start_ns_ = NowNs();
  WriteAll(header, sizeof(header));
  return true;
}

bool Recorder::Start(const char* path, ForkMode fork_mode) {
  fork_mode_ = fork_mode;
  if (!ExpandPath(path, base_path_, sizeof(base_path_))) return false;
  if (!OpenFile(base_path_, /*exclusive=*/true)) {
    if (errno != EEXIST) return false;
    char own[kMaxTracePath];
    WithPid(base_path_, own);
    if (!OpenFile(own, /*exclusive=*/false)) return false;
  }
  if (pthread_key_create(&key_, &Recorder::ThreadExit) != 0) {
    close(fd_);
    return false;
  }
  on_.store(true, std::memory_order_release);
  return true;
}

void Recorder::WriteAll(const unsigned char* bytes, std::size_t n) {
  while (n > 0) {
    const ssize_t written = write(fd_, bytes, n);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      // A full disk: the frames so far are whole; later ones would not be.
      broken_.store(true, std::memory_order_relaxed);
      if (on_.exchange(false)) {
        LogLine("trace recording stopped: cannot write %.512s", path_);
      }
      return;
    }
    bytes += written;
    n -= static_cast<std::size_t>(written);
  }
}

void Recorder::StartThread(Buffer* buffer) {
  SpinLockHolder hold(&buffer->lock);
  buffer->last_ns = NowNs();
  buffer->used =
      EncodeRecord(Op::kThreadStart, Since(buffer->last_ns, start_ns_), nullptr,
                   buffer->payload());
}

Recorder::Buffer* Recorder::NewBuffer() {
  void* memory = Map(sizeof(Buffer));
  if (memory == nullptr) return nullptr;
  // Default-initialised: the frame bytes need no zeroing.
  auto* buffer = new (memory) Buffer;
  buffer->owner = this;
  {
    SpinLockHolder hold(&registry_lock_);
    if (finished_) {
      Unmap(memory, sizeof(Buffer));
      return nullptr;
    }
    {
      SpinLockHolder hold_buffer(&buffer->lock);
      buffer->thread = next_thread_++;
    }
    buffer->next = buffers_;
    if (buffers_ != nullptr) buffers_->prev = buffer;
    buffers_ = buffer;
  }
  StartThread(buffer);
  // Before pthread_setspecific, which may itself allocate and record.
  tls_trace.buffer = buffer;
  pthread_setspecific(key_, buffer);
  return buffer;
}

void Recorder::Append(Op op, const std::uint64_t* fields) {
  // Off once Finish began: a record of a block allocated before it but
  // written after it flushed that thread would be lost, and a free of the
  // block recorded by a thread flushed later would then refer to nothing.
  if (!on()) return;
  ThreadTrace& mine = tls_trace;
  auto* buffer = static_cast<Buffer*>(mine.buffer);
  if (buffer == nullptr) {
    if (mine.exited) return AppendAfterExit(op, fields);
    buffer = NewBuffer();
    if (buffer == nullptr) return;
  }
  SpinLockHolder hold(&buffer->lock);
  const std::int64_t now = NowNs();
  const std::uint64_t delta = Since(now, buffer->last_ns);
  buffer->last_ns = std::max(now, buffer->last_ns);
  if (buffer->used + kMaxRecordBytes > kPayloadBytes) buffer->Flush();
  buffer->used +=
      EncodeRecord(op, delta, fields, buffer->payload() + buffer->used);
}

void Recorder::AppendAfterExit(Op op, const std::uint64_t* fields) {
  ThreadTrace& mine = tls_trace;
  unsigned char record[kMaxRecordBytes];
  unsigned char frame[kMaxFrameHeaderBytes + kMaxRecordBytes];
  const std::int64_t now = NowNs();
  const std::size_t n =
      EncodeRecord(op, Since(now, mine.last_ns), fields, record);
  mine.last_ns = std::max(now, mine.last_ns);
  const std::size_t h = EncodeFrameHeader(mine.thread, n, frame);
  std::memcpy(frame + h, record, n);
  // Under the registry lock, so that it cannot follow Finish's kEnd.
  SpinLockHolder hold(&registry_lock_);
  if (!finished_ && !broken_.load(std::memory_order_relaxed)) {
    WriteAll(frame, h + n);
  }
}

void Recorder::ThreadExit(void* arg) {
  auto* buffer = static_cast<Buffer*>(arg);
  Recorder* self = buffer->owner;
  ThreadTrace& mine = tls_trace;
  {
    SpinLockHolder hold(&buffer->lock);
    buffer->Flush();
    mine.thread = buffer->thread;
    mine.last_ns = buffer->last_ns;
  }
  {
    SpinLockHolder hold(&self->registry_lock_);
    (buffer->prev == nullptr ? self->buffers_ : buffer->prev->next) =
        buffer->next;
    if (buffer->next != nullptr) buffer->next->prev = buffer->prev;
  }
  mine.buffer = nullptr;
  mine.exited = true;
  buffer->~Buffer();
  Unmap(buffer, sizeof(Buffer));
}

void Recorder::Allocated(Op op, std::uint64_t arg, std::uint64_t size,
                         void* result) {
  const ErrnoKeeper keep_errno;
  // calloc's table entry holds its bytes: what a fork's child reallocates.
  const std::uint64_t bytes = op == Op::kCalloc ? arg * size : size;
  const std::uint64_t id = result == nullptr ? 0 : ids_.Add(result, bytes);
  std::uint64_t fields[3];
  if (op == Op::kMalloc) {
    fields[0] = size;
    fields[1] = id;
  } else {
    fields[0] = arg;
    fields[1] = size;
    fields[2] = id;
  }
  Append(op, fields);
}

void Recorder::Freeing(Op op, void* p, std::uint64_t size) {
  const ErrnoKeeper keep_errno;
  std::uint64_t ignored;
  const std::uint64_t fields[2] = {p == nullptr ? 0 : ids_.Take(p, &ignored),
                                   size};
  Append(op, fields);
}

std::uint64_t Recorder::TakeForRealloc(void* p) {
  std::uint64_t ignored;
  return p == nullptr ? 0 : ids_.Take(p, &ignored);
}

void Recorder::Reallocated(void* old_p, std::uint64_t old_id,
                           std::uint64_t size, void* result) {
  const ErrnoKeeper keep_errno;
  std::uint64_t id = 0;
  if (result != nullptr) {
    id = ids_.Add(result, size);
  } else if (old_p != nullptr && size != 0 && old_id != 0) {
    // Failed: the block stays where it was, its size unknown here; the
    // table's size only feeds a fork's child.
    ids_.Restore(old_p, old_id, size);
  }
  const std::uint64_t fields[3] = {old_id, size, id};
  Append(Op::kRealloc, fields);
}

void Recorder::UsableSize(void* p) {
  const ErrnoKeeper keep_errno;
  const std::uint64_t fields[1] = {p == nullptr ? 0 : ids_.Find(p)};
  Append(Op::kUsableSize, fields);
}

void Recorder::Finish() {
  const ErrnoKeeper keep_errno;
  // Stops new records first (Append), then flushes what was recorded.
  if (!on_.exchange(false)) return;
  ThreadTrace& mine = tls_trace;
  SpinLockHolder hold(&registry_lock_);
  if (finished_) return;
  std::uint64_t thread = 0;
  std::int64_t last_ns = 0;
  for (Buffer* buffer = buffers_; buffer != nullptr; buffer = buffer->next) {
    SpinLockHolder hold_buffer(&buffer->lock);
    buffer->Flush();
    buffer->dead = true;
    if (buffer == mine.buffer) {
      thread = buffer->thread;
      last_ns = buffer->last_ns;
    }
  }
  if (thread == 0 && mine.exited) {
    thread = mine.thread;
    last_ns = mine.last_ns;
  }
  unsigned char frame[kMaxFrameHeaderBytes + 2 * kMaxRecordBytes];
  unsigned char records[2 * kMaxRecordBytes];
  std::size_t n = 0;
  const std::int64_t now = NowNs();
  if (thread == 0) {
    // A thread that never allocated while recording: it starts to end.
    thread = next_thread_++;
    last_ns = now;
    n = EncodeRecord(Op::kThreadStart, Since(now, start_ns_), nullptr, records);
  }
  n += EncodeRecord(Op::kEnd, Since(now, last_ns), nullptr, records + n);
  const std::size_t h = EncodeFrameHeader(thread, n, frame);
  std::memcpy(frame + h, records, n);
  if (!broken_.load(std::memory_order_relaxed)) WriteAll(frame, h + n);
  finished_ = true;
}

void Recorder::PrepareFork() {
  if (!on()) return;
  registry_lock_.Lock();
  for (Buffer* buffer = buffers_; buffer != nullptr; buffer = buffer->next) {
    buffer->lock.Lock();
  }
  ids_.LockAll();
  fork_locked_ = true;
}

void Recorder::AfterForkInParent() {
  if (!fork_locked_) return;
  fork_locked_ = false;
  ids_.UnlockAll();
  for (Buffer* buffer = buffers_; buffer != nullptr; buffer = buffer->next) {
    buffer->lock.Unlock();
  }
  registry_lock_.Unlock();
}

void Recorder::AfterForkInChild() {
  if (!fork_locked_) return;
  fork_locked_ = false;
  ids_.UnlockAll();
  // What the buffers hold is the parent's to write, and their threads but
  // the calling one do not exist here.
  auto* mine = static_cast<Buffer*>(tls_trace.buffer);
  for (Buffer* buffer = buffers_; buffer != nullptr;) {
    Buffer* next = buffer->next;
    buffer->used = 0;
    buffer->lock.Unlock();
    if (buffer != mine) {
      buffer->~Buffer();
      Unmap(buffer, sizeof(Buffer));
    }
    buffer = next;
  }
  buffers_ = nullptr;
  close(fd_);
  fd_ = -1;
  bool recording = false;
  if (fork_mode_ == ForkMode::kChild) {
    char own[kMaxTracePath];
    WithPid(base_path_, own);
    recording = OpenFile(own, /*exclusive=*/false);
  }
  if (!recording) {
    on_.store(false, std::memory_order_relaxed);
    if (mine != nullptr) {
      SpinLockHolder hold(&mine->lock);
      mine->dead = true;
    }
    registry_lock_.Unlock();
    return;
  }
  next_thread_ = 1;
  if (mine != nullptr) {
    mine->next = mine->prev = nullptr;
    buffers_ = mine;
    {
      SpinLockHolder hold(&mine->lock);
      mine->thread = next_thread_++;
    }
    registry_lock_.Unlock();
    StartThread(mine);
  } else {
    registry_lock_.Unlock();
  }
  // Every block the child inherited, allocated at its start: the child's
  // frees of them then refer to blocks its own trace holds.
  ids_.ForEachUnlocked([this](std::uint64_t id, std::uint64_t size) {
    const std::uint64_t fields[2] = {size, id};
    Append(Op::kMalloc, fields);
  });
}

}  // namespace rusty_malloc::trace

#include "allocator/profile/gperftools_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "allocator/profile/stack_table.h"

namespace rusty_malloc {
namespace {

// Text into a stack buffer, written out with write(2) whenever it fills.
// The first failed write stops all later ones.
class Output {
 public:
  explicit Output(int fd) : fd_(fd) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  void Text(const char* text) {
    for (; *text != '\0'; ++text) Char(*text);
  }
  void Char(char c) {
    if (used_ == sizeof(buffer_)) Flush();
    buffer_[used_++] = c;
  }
  // Right-aligned in `width` columns, as gperftools' "%6d" and "%8d".
  void Decimal(std::uint64_t value, int width) {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    for (int pad = width - n; pad > 0; --pad) Char(' ');
    while (n > 0) Char(digits[--n]);
  }
  void Hex(std::uintptr_t value) {
    char digits[2 * sizeof(value)];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[value % 16];
      value /= 16;
    } while (value != 0);
    Text("0x");
    while (n > 0) Char(digits[--n]);
  }
  // Copies what remains of `in` (read(2) to its end) after what is buffered.
  void Copy(int in) {
    Flush();
    while (ok_) {
      const ssize_t got = read(in, buffer_, sizeof(buffer_));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) ok_ = false;
      if (got <= 0) return;
      used_ = static_cast<std::size_t>(got);
      Flush();
    }
  }
  // Writes what is buffered; false if this or any earlier write failed.
  bool Flush() {
    const char* p = buffer_;
    while (ok_ && used_ > 0) {
      const ssize_t written = write(fd_, p, used_);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        if (written == 0) errno = EIO;
        ok_ = false;
        break;
      }
      p += written;
      used_ -= static_cast<std::size_t>(written);
    }
    used_ = 0;
    return ok_;
  }

 private:
  const int fd_;
  bool ok_ = true;
  std::size_t used_ = 0;
  char buffer_[4096];
};

// One line's four figures: in use, then allocated since the start.
struct Figures {
  std::uint64_t inuse_objects = 0;
  std::uint64_t inuse_bytes = 0;
  std::uint64_t alloc_objects = 0;
  std::uint64_t alloc_bytes = 0;

  [[nodiscard]] bool empty() const {
    return inuse_objects == 0 && inuse_bytes == 0 && alloc_objects == 0 &&
           alloc_bytes == 0;
  }
};

// An estimate as the format's integer, rounded to nearest; what rounding
// left below zero of a sum is zero.
std::uint64_t Round(double estimate) {
  if (!(estimate > 0)) return 0;
  // Past what the integer holds, its largest (the cast would be undefined).
  if (estimate >= 0x1p64 - 1) return ~std::uint64_t{0};
  // Half up, by hand: the drop-in links no libm.
  const auto whole = static_cast<std::uint64_t>(estimate);
  return whole + (estimate - static_cast<double>(whole) >= 0.5 ? 1 : 0);
}

Figures FiguresOf(const StackCounters& counters, ProfileView view) {
  const SampleWeight& inuse =
      view == ProfileView::kPeak ? counters.peak : counters.live;
  return Figures{Round(inuse.count), Round(inuse.bytes),
                 Round(counters.total.count), Round(counters.total.bytes)};
}

// "<objs>: <bytes> [<objs>: <bytes>] @", gperftools' widths.
void WriteFigures(Output& out, const Figures& figures) {
  out.Decimal(figures.inuse_objects, 6);
  out.Text(": ");
  out.Decimal(figures.inuse_bytes, 8);
  out.Text(" [");
  out.Decimal(figures.alloc_objects, 6);
  out.Text(": ");
  out.Decimal(figures.alloc_bytes, 8);
  out.Text("] @");
}

void WriteStack(Output& out, const StackRecord& stack) {
  int frames = 0;
  for (; frames < stack.depth && stack.pcs[frames] != 0; ++frames) {
    out.Char(' ');
    // pprof moves all but the first address back to its call (see the
    // header); the first is a return address too.
    out.Hex(frames == 0 ? stack.pcs[0] - 1 : stack.pcs[frames]);
  }
  // pprof skips a line with no address: an unknown stack is address 0.
  if (frames == 0) out.Text(" 0x0");
  out.Char('\n');
}

void WriteStacks(Output& out, const StackTable& stacks, ProfileView view) {
  Figures sums;
  stacks.ForEach([&](StackTable::Id, const StackRecord& stack) {
    const Figures figures = FiguresOf(stack.counters, view);
    sums.inuse_objects += figures.inuse_objects;
    sums.inuse_bytes += figures.inuse_bytes;
    sums.alloc_objects += figures.alloc_objects;
    sums.alloc_bytes += figures.alloc_bytes;
  });
  out.Text("heap profile: ");
  WriteFigures(out, sums);
  out.Text(" heapprofile\n");
  stacks.ForEach([&](StackTable::Id, const StackRecord& stack) {
    const Figures figures = FiguresOf(stack.counters, view);
    if (figures.empty()) return;
    WriteFigures(out, figures);
    WriteStack(out, stack);
  });
}

}  // namespace

namespace {

// The maps, after the stacks Output holds.
bool FinishWithMaps(Output& out) {
  out.Text("\nMAPPED_LIBRARIES:\n");
  const int maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (maps < 0) {
    out.Flush();
    return false;
  }
  out.Copy(maps);
  const int saved = errno;
  close(maps);
  errno = saved;
  return out.Flush();
}

// Opens `path` for write(fd) and closes it: false if any step failed.
template <typename Write>
bool WriteToPath(const char* path, Write write) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool written = write(fd);
  const int saved = errno;
  // A failed close can be a failed write (NFS reports them there).
  if (close(fd) != 0 && written) return false;
  errno = saved;
  return written;
}

}  // namespace

bool WriteHeapProfile(int fd, const HeapProfile& profile, ProfileView view) {
  Output out(fd);
  profile.Visit(
      [&](const StackTable& stacks) { WriteStacks(out, stacks, view); });
  return FinishWithMaps(out);
}

bool WriteHeapProfileToPath(const char* path, const HeapProfile& profile,
                            ProfileView view) {
  return WriteToPath(
      path, [&](int fd) { return WriteHeapProfile(fd, profile, view); });
}

IdleWrite WriteHeapProfileToPathIfIdle(const char* path,
                                       const HeapProfile& profile,
                                       ProfileView view) {
  bool written = false;
  const bool idle = profile.TryVisit([&](const StackTable& stacks) {
    written = WriteToPath(path, [&](int fd) {
      Output out(fd);
      WriteStacks(out, stacks, view);
      return FinishWithMaps(out);
    });
  });
  if (!idle) return IdleWrite::kBusy;
  return written ? IdleWrite::kWritten : IdleWrite::kFailed;
}

}  // namespace rusty_malloc

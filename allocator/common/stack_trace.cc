#include "allocator/common/stack_trace.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>
#include <unwind.h>

#include <cstddef>
#include <cstring>

#include "allocator/common/log_line.h"

namespace rusty_malloc {
namespace {

// Where _Unwind_Backtrace's callback puts the frames: the first `skip` it
// drops.
struct Capture {
  std::uintptr_t* pcs;
  int max;
  int skip;
  int count;
};

_Unwind_Reason_Code AddFrame(_Unwind_Context* context, void* arg) {
  auto* capture = static_cast<Capture*>(arg);
  if (capture->skip > 0) {
    --capture->skip;
    return _URC_NO_REASON;
  }
  if (capture->count == capture->max) return _URC_END_OF_STACK;
  // A frame interrupted by a signal resumes at the faulting instruction
  // itself, not after a call: stored one past it, so that every reader's
  // step back from a return address (WriteStack's, pprof's) lands on it.
  int before_instruction = 0;
  const std::uintptr_t ip = _Unwind_GetIPInfo(context, &before_instruction);
  capture->pcs[capture->count++] = before_instruction != 0 ? ip + 1 : ip;
  return _URC_NO_REASON;
}

// The file a code address lies in, and the address as that file's own
// (what addr2line takes).
struct Location {
  char path[256];
  std::uintptr_t address_in_file;
};

std::uintptr_t ParseHex(const char*& p) {
  std::uintptr_t value = 0;
  for (;; ++p) {
    const char c = *p;
    if (c >= '0' && c <= '9') {
      value = value * 16 + static_cast<std::uintptr_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      value = value * 16 + static_cast<std::uintptr_t>(c - 'a' + 10);
    } else {
      return value;
    }
  }
}

void SkipField(const char*& p) {
  while (*p == ' ') ++p;
  while (*p != ' ' && *p != '\0') ++p;
}

// One line of /proc/self/maps: "start-end perms offset dev inode   path".
// Remembers where the last readable file mapping at offset 0 starts (an
// object's ELF header, its load base), and fills `out` when the line's
// mapping holds `pc`.
bool MatchMapsLine(const char* line, std::uintptr_t pc, std::uintptr_t* base,
                   Location* out) {
  const char* p = line;
  const std::uintptr_t start = ParseHex(p);
  if (*p++ != '-') return false;
  const std::uintptr_t end = ParseHex(p);
  while (*p == ' ') ++p;
  const bool readable = *p == 'r';
  SkipField(p);
  while (*p == ' ') ++p;
  const std::uintptr_t offset = ParseHex(p);
  SkipField(p);  // dev
  SkipField(p);  // inode
  while (*p == ' ') ++p;
  const char* const path = p;
  if (*path != '/') return false;  // Anonymous: no file to name.
  if (offset == 0 && readable) *base = start;
  if (pc < start || pc >= end || *base == 0) return false;
  // A position-dependent executable's addresses are its own; a shared
  // object's or PIE's count from its load base.
  std::uintptr_t load = *base;
  if (reinterpret_cast<const Elf64_Ehdr*>(load)->e_type == ET_EXEC) load = 0;
  std::size_t n = std::strlen(path);
  if (n >= sizeof(out->path)) n = sizeof(out->path) - 1;
  std::memcpy(out->path, path, n);
  out->path[n] = '\0';
  out->address_in_file = pc - load;
  return true;
}

// Reads /proc/self/maps with plain syscalls. dladdr would take the dynamic
// loader's lock, which a thread inside dlopen may hold while it waits for
// the heap lock this report can be made under.
bool Locate(std::uintptr_t pc, Location* out) {
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[4096 + 1];
  std::size_t held = 0;
  std::uintptr_t base = 0;
  bool found = false;
  for (;;) {
    const ssize_t got = read(fd, buffer + held, sizeof(buffer) - 1 - held);
    if (got <= 0) break;
    held += static_cast<std::size_t>(got);
    buffer[held] = '\0';
    char* line = buffer;
    while (char* newline = std::strchr(line, '\n')) {
      *newline = '\0';
      if (MatchMapsLine(line, pc, &base, out)) {
        found = true;
        break;
      }
      line = newline + 1;
    }
    if (found) break;
    // Keep the unfinished line; one longer than the buffer is dropped.
    held = static_cast<std::size_t>(buffer + held - line);
    if (held == sizeof(buffer) - 1) held = 0;
    std::memmove(buffer, line, held);
  }
  close(fd);
  return found;
}

}  // namespace

// glibc's backtrace() would load the unwinder on first use, which allocates
// (from a heap perhaps just found misused); _Unwind_Backtrace is linked in.
int CaptureStack(std::uintptr_t* pcs, int max, int skip) {
  if (max <= 0) return 0;
  // The first frame the unwinder reports is this function's own.
  Capture capture{pcs, max, skip + 1, 0};
  _Unwind_Backtrace(AddFrame, &capture);
  return capture.count;
}

void WriteStack(const std::uintptr_t* pcs, int count) {
  for (int i = 0; i < count; ++i) {
    // A return address: the call is the instruction before it.
    const std::uintptr_t pc = pcs[i];
    if (pc == 0) break;  // The outermost frame's.
    Location at;
    if (Locate(pc - 1, &at)) {
      LogLine("  #%d 0x%zx %s+0x%zx", i, static_cast<std::size_t>(pc), at.path,
              static_cast<std::size_t>(at.address_in_file));
    } else {
      LogLine("  #%d 0x%zx", i, static_cast<std::size_t>(pc));
    }
  }
}

}  // namespace rusty_malloc

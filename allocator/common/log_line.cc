#include "allocator/common/log_line.h"

#include <errno.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace rusty_malloc {

void WriteToStderr(const char* text, std::size_t bytes) {
  const int saved = errno;
  while (bytes > 0) {
    const ssize_t written = write(STDERR_FILENO, text, bytes);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) break;
    text += written;
    bytes -= static_cast<std::size_t>(written);
  }
  errno = saved;
}

void LogLine(const char* format, ...) {
  static constexpr char kPrefix[] = "rusty_malloc: ";
  char line[512];
  std::memcpy(line, kPrefix, sizeof(kPrefix) - 1);
  std::size_t used = sizeof(kPrefix) - 1;
  va_list args;
  va_start(args, format);
  const int n =
      std::vsnprintf(line + used, sizeof(line) - used - 1, format, args);
  va_end(args);
  if (n > 0) {
    used += static_cast<std::size_t>(n) < sizeof(line) - used - 1
                ? static_cast<std::size_t>(n)
                : sizeof(line) - used - 2;
  }
  line[used++] = '\n';
  WriteToStderr(line, used);
}

}  // namespace rusty_malloc

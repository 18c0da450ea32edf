#include "allocator/common/misuse.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace rusty_malloc {
namespace {

void WriteAll(const char* s, std::size_t n) {
  while (n > 0) {
    const ssize_t written = write(STDERR_FILENO, s, n);
    if (written <= 0) return;
    s += written;
    n -= static_cast<std::size_t>(written);
  }
}

}  // namespace

void ReportMisuse(const char* what, const void* ptr) {
  char hex[2 + 2 * sizeof(std::uintptr_t)];
  auto value = reinterpret_cast<std::uintptr_t>(ptr);
  hex[0] = '0';
  hex[1] = 'x';
  for (int i = static_cast<int>(sizeof(hex)) - 1; i >= 2; --i) {
    hex[i] = "0123456789abcdef"[value & 0xf];
    value >>= 4;
  }
  static constexpr char kPrefix[] = "rusty_malloc: ";
  WriteAll(kPrefix, sizeof(kPrefix) - 1);
  WriteAll(what, std::strlen(what));
  WriteAll(": ", 2);
  WriteAll(hex, sizeof(hex));
  WriteAll("\n", 1);
  std::abort();
}

}  // namespace rusty_malloc

// With //allocator:malloc linked in, malloc and operator new are
// rusty_malloc's: blocks they return are the global heap's.

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "allocator/malloc.h"

int main() {
  void* p = std::malloc(100);
  auto q = std::make_unique<int[]>(1000);
  const bool ok = p != nullptr && rusty_malloc_owns(p) == 1 &&
                  rusty_malloc_owns(q.get()) == 1 && rusty_malloc_verify() == 1;
  std::free(p);
  std::printf("drop_in_test: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

// The drop-in's heap profile, end to end: three call sites allocate known
// amounts through malloc and keep them; the program then writes the
// profile (rusty_malloc_dump_heap_profile, PATH given as argv[1]) and
// frees site B's blocks, and the profile written at exit
// (RUSTY_MALLOC_HEAP_PROFILE) must show B gone and its .peak file all three.
// With RUSTY_MALLOC_HEAP_PROFILE_SIGNAL set, it also raises that signal
// after the dump, whose handler writes the same profile to PATH.0001.
// malloc_profile_test.sh reads both with google-pprof.

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int rusty_malloc_dump_heap_profile(const char* path)
    __attribute__((weak));

enum { kMiB = 1 << 20 };

static void** Keep(size_t count) { return calloc(count, sizeof(void*)); }

// Each site allocates `total` bytes in blocks of `size`, touching each.
__attribute__((noinline)) void ProfileSiteA(void** blocks, size_t total) {
  for (size_t i = 0; i < total / 4096; ++i) {
    blocks[i] = malloc(4096);
    memset(blocks[i], 1, 16);
  }
}

__attribute__((noinline)) void ProfileSiteB(void** blocks, size_t total) {
  for (size_t i = 0; i < total / 1024; ++i) {
    blocks[i] = malloc(1024);
    memset(blocks[i], 2, 16);
  }
}

__attribute__((noinline)) void ProfileSiteC(void** blocks, size_t total) {
  for (size_t i = 0; i < total / 256; ++i) {
    blocks[i] = malloc(256);
    memset(blocks[i], 3, 16);
  }
}

int main(int argc, char** argv) {
  if (argc != 2 || rusty_malloc_dump_heap_profile == NULL) {
    fprintf(stderr, "usage: profile_program PATH, on the drop-in\n");
    return 2;
  }
  void** a = Keep(40 * kMiB / 4096);
  void** b = Keep(20 * kMiB / 1024);
  void** c = Keep(10 * kMiB / 256);
  ProfileSiteA(a, 40 * kMiB);
  ProfileSiteB(b, 20 * kMiB);
  ProfileSiteC(c, 10 * kMiB);
  if (rusty_malloc_dump_heap_profile(argv[1]) != 0) {
    fprintf(stderr, "rusty_malloc_dump_heap_profile(%s) failed\n", argv[1]);
    return 1;
  }
  const char* signal = getenv("RUSTY_MALLOC_HEAP_PROFILE_SIGNAL");
  if (signal != NULL && raise(atoi(signal)) != 0) {
    fprintf(stderr, "raise(%s) failed\n", signal);
    return 1;
  }
  for (size_t i = 0; i < 20 * kMiB / 1024; ++i) free(b[i]);
  return 0;
}

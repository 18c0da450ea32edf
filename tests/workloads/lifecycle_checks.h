// What lifecycle_program.c's scenarios share: blocks filled and checked
// with a checksum that does not depend on the order threads check them in,
// threads started and joined, and failure on the first error.

#ifndef RUSTY_MALLOC_TESTS_WORKLOADS_LIFECYCLE_CHECKS_H_
#define RUSTY_MALLOC_TESTS_WORKLOADS_LIFECYCLE_CHECKS_H_

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void Fail(const char* format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "lifecycle_program: FAIL ");
  vfprintf(stderr, format, args);
  fprintf(stderr, "\n");
  va_end(args);
  exit(1);
}

static uint64_t Mix(uint64_t x) {
  x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ULL;
  return x ^ (x >> 32);
}

static void* Allocate(size_t size) {
  void* p = malloc(size);
  if (p == NULL) Fail("malloc(%zu) returned NULL", size);
  return p;
}

// Word k of a block with this seed; the checksums add these up, so they do
// not depend on the order in which threads check blocks.
static uint64_t Word(uint64_t seed, size_t k) {
  return (seed + k) * 0x9e3779b97f4a7c15ULL ^ (seed >> 7);
}

static void Fill(unsigned char* p, size_t size, uint64_t seed) {
  size_t k = 0;
  for (; (k + 1) * 8 <= size; ++k) {
    const uint64_t w = Word(seed, k);
    memcpy(p + k * 8, &w, 8);
  }
  const uint64_t w = Word(seed, k);
  memcpy(p + k * 8, &w, size - k * 8);
}

// Checks what Fill wrote and returns its checksum; fails the program on any
// difference. Safe to call in a forked child: it allocates nothing unless it
// fails.
static uint64_t Check(const unsigned char* p, size_t size, uint64_t seed,
                      const char* what) {
  uint64_t sum = 0;
  size_t k = 0;
  for (; (k + 1) * 8 <= size; ++k) {
    uint64_t w;
    memcpy(&w, p + k * 8, 8);
    if (w != Word(seed, k)) {
      Fail("%s: block %p of %zu bytes changed at byte %zu", what,
           (const void*)p, size, k * 8);
    }
    sum += w;
  }
  const uint64_t expected = Word(seed, k);
  if (memcmp(p + k * 8, &expected, size - k * 8) != 0) {
    Fail("%s: block %p of %zu bytes changed in its last bytes", what,
         (const void*)p, size);
  }
  return sum + size;
}

static void Start(pthread_t* thread, void* (*body)(void*), void* arg) {
  const int error = pthread_create(thread, NULL, body, arg);
  if (error != 0) Fail("pthread_create: %s", strerror(error));
}

static void Join(pthread_t thread) {
  const int error = pthread_join(thread, NULL);
  if (error != 0) Fail("pthread_join: %s", strerror(error));
}

// Runs body((void*)0) to body((void*)(count - 1)), each on a thread of its
// own, at most kRunningAtOnce at a time.
enum { kRunningAtOnce = 8 };

static void RunThreads(int count, void* (*body)(void*)) {
  pthread_t running[kRunningAtOnce];
  for (int i = 0; i < count; ++i) {
    if (i >= kRunningAtOnce) Join(running[i % kRunningAtOnce]);
    Start(&running[i % kRunningAtOnce], body, (void*)(uintptr_t)i);
  }
  for (int i = 0; i < count && i < kRunningAtOnce; ++i) Join(running[i]);
}

#endif  // RUSTY_MALLOC_TESTS_WORKLOADS_LIFECYCLE_CHECKS_H_

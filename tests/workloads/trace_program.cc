// The program malloc_trace_test records (RUSTY_MALLOC_TRACE): calls of
// every kind the recorder knows, each on a size no library allocates, so
// the test can find them in the trace whatever else the C library did.
// Usage: trace_program normal|fork|kill

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <new>

extern "C" void free_sized(void* ptr, size_t size) __attribute__((weak));

namespace {

// Keeps the compiler from pairing or dropping the calls.
void* volatile sink;

void* Worker(void*) {
  // Allocated here, freed by main: a cross-thread free.
  void* p = malloc(100003);
  std::memset(p, 1, 100003);
  // Churn enough to fill more than one 64 KiB frame.
  for (int i = 0; i < 20000; ++i) {
    sink = malloc(100 + i % 50);
    free(sink);
  }
  return p;
}

void Calls() {
  char* a = static_cast<char*>(malloc(100001));
  std::memset(a, 2, 100001);
  void* b = calloc(3, 40001);
  a = static_cast<char*>(realloc(a, 200001));
  void* c = nullptr;
  if (posix_memalign(&c, 64, 100007) != 0) abort();
  void* d = aligned_alloc(4096, 40960);
  sink = reinterpret_cast<void*>(malloc_usable_size(b));
  free(b);
  free(a);
  free(c);
  if (free_sized != nullptr) {
    free_sized(d, 40960);
  } else {
    free(d);
  }
  // Through a volatile, or the compiler makes it malloc.
  void* volatile none = nullptr;
  void* e = realloc(none, 100009);
  sink = realloc(e, 0);
  int* f = new int[25003];
  delete[] f;
  auto* g = static_cast<char*>(::operator new (100011, std::align_val_t{256}));
  ::operator delete (g, std::align_val_t{256});
  pthread_t thread;
  void* from_thread;
  if (pthread_create(&thread, nullptr, Worker, nullptr) != 0) abort();
  pthread_join(thread, &from_thread);
  free(from_thread);
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "normal";
  Calls();
  if (std::strcmp(mode, "fork") == 0) {
    void* inherited = malloc(100013);
    const pid_t child = fork();
    if (child == 0) {
      // The child frees what it inherited and allocates on its own.
      free(inherited);
      sink = malloc(100015);
      free(sink);
      exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    free(inherited);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  } else if (std::strcmp(mode, "kill") == 0) {
    sink = malloc(100017);
    std::fflush(stdout);
    raise(SIGKILL);
  }
  std::printf("trace_program %s done\n", mode);
  return 0;
}

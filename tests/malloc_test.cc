// Conformance of the drop-in malloc and operator new with glibc's documented
// behaviour. Built twice: linked with //allocator:malloc through Bazel's
// `malloc` attribute, and as a plain program that malloc_preload_test runs
// under LD_PRELOAD=librusty_malloc.so. Either way every check first makes
// sure the memory really comes from rusty_malloc.

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

// Resolved from //allocator:malloc when linked in, from the preloaded library
// otherwise, and null when neither is there.
extern "C" int rusty_malloc_owns(const void* ptr) __attribute__((weak));
extern "C" int rusty_malloc_verify(void) __attribute__((weak));
// C23's sized frees; glibc 2.36 has neither.
extern "C" void free_sized(void* ptr, size_t size) __attribute__((weak));
extern "C" void free_aligned_sized(void* ptr, size_t align, size_t size)
    __attribute__((weak));

namespace {

// Hides a size from the compiler, which otherwise rejects the impossible
// sizes these tests pass on purpose.
std::size_t Opaque(std::size_t n) {
  volatile std::size_t hidden = n;
  return hidden;
}

bool Aligned(const void* p, std::size_t align) {
  return reinterpret_cast<std::uintptr_t>(p) % align == 0;
}

class MallocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (rusty_malloc_owns == nullptr) {
#ifdef RUSTY_MALLOC_SANITIZER_OWNS_MALLOC
      GTEST_SKIP() << "the sanitizer runtime provides malloc in this config";
#else
      FAIL() << "not running on rusty_malloc";
#endif
    }
  }
  void TearDown() override {
    if (rusty_malloc_verify != nullptr) {
      EXPECT_EQ(rusty_malloc_verify(), 1);
    }
  }
  static bool Owns(const void* p) { return rusty_malloc_owns(p) == 1; }
};

TEST_F(MallocTest, MallocGivesOwnedAlignedWritableMemory) {
  for (std::size_t n = 0; n < 2000; n += 7) {
    void* p = malloc(n);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(Owns(p));
    EXPECT_TRUE(Aligned(p, 16));
    std::memset(p, 0xa5, n);
    EXPECT_GE(malloc_usable_size(p), n);
    free(p);
  }
}

TEST_F(MallocTest, MallocZeroIsUniqueAndFreeable) {
  void* a = malloc(0);
  void* b = malloc(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  free(a);
  free(b);
  free(nullptr);
}

TEST_F(MallocTest, ImpossibleSizesFailWithEnomem) {
  for (std::size_t n : {SIZE_MAX, SIZE_MAX - 16, SIZE_MAX / 2}) {
    errno = 0;
    EXPECT_EQ(malloc(Opaque(n)), nullptr);
    EXPECT_EQ(errno, ENOMEM);
  }
}

TEST_F(MallocTest, CallocZeroesReusedMemoryAndChecksOverflow) {
  void* dirty = malloc(4096);
  std::memset(dirty, 0xff, 4096);
  free(dirty);
  auto* p = static_cast<unsigned char*>(calloc(16, 256));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(Owns(p));
  for (int i = 0; i < 4096; ++i) ASSERT_EQ(p[i], 0) << i;
  free(p);
  errno = 0;
  EXPECT_EQ(calloc(Opaque(SIZE_MAX / 2), 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  void* zero = calloc(0, 10);
  EXPECT_NE(zero, nullptr);
  free(zero);
}

// Keeps the compiler from eliding a malloc/free pair whose contents are
// never read, as it may at -O2: the point is the dirty bytes left behind.
void* Dirty(std::size_t n) {
  void* p = malloc(n);
  if (p != nullptr) std::memset(p, 0xa5, n);
  asm volatile("" : : "g"(p) : "memory");
  return p;
}

std::size_t FirstNonZero(const void* p, std::size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(p);
  std::size_t i = 0;
  while (i < n && bytes[i] == 0) ++i;
  return i;
}

// Sizes past a page, where an allocator may hand back memory it believes is
// still zero from the OS: after a free it is not.
TEST_F(MallocTest, CallocZeroesLargeDirtyBlocks) {
  const std::size_t sizes[] = {5000, 70000, 300000, 3000000};
  for (int round = 0; round < 3; ++round) {
    // Each size freed dirty on its own, then calloc'd again at once.
    for (const std::size_t n : sizes) {
      void* dirty = Dirty(n);
      ASSERT_NE(dirty, nullptr);
      free(dirty);
      void* p = calloc(n / 8, 8);
      ASSERT_NE(p, nullptr);
      EXPECT_TRUE(Owns(p));
      EXPECT_EQ(FirstNonZero(p, n), n) << n << " in round " << round;
      free(p);
    }
    // All sizes live and dirty together, freed, then calloc'd in reverse.
    void* dirty[4];
    for (int i = 0; i < 4; ++i) {
      dirty[i] = Dirty(sizes[i]);
      ASSERT_NE(dirty[i], nullptr);
    }
    for (void* p : dirty) free(p);
    void* clean[4];
    for (int i = 3; i >= 0; --i) {
      clean[i] = calloc(1, sizes[i]);
      ASSERT_NE(clean[i], nullptr);
      EXPECT_EQ(FirstNonZero(clean[i], sizes[i]), sizes[i])
          << sizes[i] << " in round " << round;
    }
    for (void* p : clean) free(p);
  }
}

TEST_F(MallocTest, ReallocFollowsGlibc) {
  auto* p = static_cast<char*>(realloc(nullptr, 10));  // As malloc.
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(Owns(p));
  std::memcpy(p, "0123456789", 10);
  p = static_cast<char*>(realloc(p, 100000));  // Larger: contents kept.
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::memcmp(p, "0123456789", 10), 0);
  p = static_cast<char*>(realloc(p, 5));  // Smaller.
  EXPECT_EQ(std::memcmp(p, "01234", 5), 0);
  errno = 0;
  EXPECT_EQ(realloc(p, Opaque(SIZE_MAX)), nullptr);  // Fails; p untouched.
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(std::memcmp(p, "01234", 5), 0);
  EXPECT_EQ(realloc(p, 0), nullptr);  // Frees p, as glibc does.
}

TEST_F(MallocTest, ReallocarrayChecksOverflow) {
  void* p = reallocarray(nullptr, 10, 10);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, 100);
  errno = 0;
  EXPECT_EQ(reallocarray(p, Opaque(SIZE_MAX / 2), 4), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(static_cast<char*>(p)[99], 1);
  free(p);
}

TEST_F(MallocTest, AlignedAllocTakesPowersOfTwoOnly) {
  for (std::size_t align = 1; align <= 65536; align *= 2) {
    void* p = aligned_alloc(align, 100);
    ASSERT_NE(p, nullptr) << align;
    EXPECT_TRUE(Aligned(p, align));
    EXPECT_TRUE(Owns(p));
    free(p);
  }
  for (std::size_t bad : {std::size_t{0}, std::size_t{3}, std::size_t{24}}) {
    errno = 0;
    EXPECT_EQ(aligned_alloc(bad, 16), nullptr) << bad;
    EXPECT_EQ(errno, EINVAL);
  }
}

TEST_F(MallocTest, PosixMemalignReportsThroughItsResult) {
  void* p = nullptr;
  for (std::size_t align = sizeof(void*); align <= 65536; align *= 2) {
    ASSERT_EQ(posix_memalign(&p, align, 33), 0);
    EXPECT_TRUE(Aligned(p, align));
    EXPECT_TRUE(Owns(p));
    free(p);
  }
  void* untouched = &p;
  void* out = untouched;
  for (std::size_t bad :
       {std::size_t{0}, std::size_t{4}, std::size_t{24}, std::size_t{48}}) {
    EXPECT_EQ(posix_memalign(&out, bad, 8), EINVAL) << bad;
  }
  errno = 0;
  EXPECT_EQ(posix_memalign(&out, 64, Opaque(SIZE_MAX / 2)), ENOMEM);
  EXPECT_EQ(out, untouched);
  EXPECT_EQ(errno, 0);
  ASSERT_EQ(posix_memalign(&out, 64, 0), 0);
  free(out);
}

TEST_F(MallocTest, MemalignRoundsAlignmentUp) {
  void* p = memalign(Opaque(24), 10);  // Rounded up to 32.
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(Aligned(p, 32));
  free(p);
  p = memalign(4096, 1);
  EXPECT_TRUE(Aligned(p, 4096));
  free(p);
  errno = 0;
  EXPECT_EQ(memalign(Opaque(SIZE_MAX), 1), nullptr);
  EXPECT_EQ(errno, EINVAL);
}

TEST_F(MallocTest, VallocAndPvallocArePageAligned) {
  const auto page = static_cast<std::size_t>(getpagesize());
  void* v = valloc(10);
  EXPECT_TRUE(Aligned(v, page));
  void* pv = pvalloc(1);
  EXPECT_TRUE(Aligned(pv, page));
  EXPECT_GE(malloc_usable_size(pv), page);
  void* zero = pvalloc(0);
  EXPECT_GE(malloc_usable_size(zero), page);
  free(v);
  free(pv);
  free(zero);
  errno = 0;
  EXPECT_EQ(pvalloc(Opaque(SIZE_MAX - 10)), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST_F(MallocTest, MallocUsableSizeOfNullIsZero) {
  EXPECT_EQ(malloc_usable_size(nullptr), 0u);
}

TEST_F(MallocTest, SizedFreesTakeEveryKindOfBlock) {
  ASSERT_NE(free_sized, nullptr);
  ASSERT_NE(free_aligned_sized, nullptr);
  free_sized(nullptr, 0);
  for (const std::size_t size :
       {std::size_t{1}, std::size_t{100}, std::size_t{40000},
        std::size_t{300000}, std::size_t{5} << 20}) {
    void* p = malloc(size);
    ASSERT_NE(p, nullptr);
    std::memset(p, 1, size);
    free_sized(p, size);
    for (const std::size_t align :
         {std::size_t{64}, std::size_t{8192}, std::size_t{1} << 20}) {
      void* q = aligned_alloc(align, size);
      ASSERT_NE(q, nullptr) << size << " " << align;
      std::memset(q, 2, size);
      free_aligned_sized(q, align, size);
    }
  }
}

// A heap that uses the size checks the block it leads to and aborts (the
// per-thread allocator); one that knows every block's size ignores it (the
// locked ones). Neither corrupts.
TEST_F(MallocTest, SizedFreeWithAWrongSizeAbortsOrIsIgnored) {
  void* p = malloc(32);
  ASSERT_NE(p, nullptr);
  EXPECT_EXIT(
      {
        free_sized(p, std::size_t{1} << 20);
        std::_Exit(rusty_malloc_verify() == 1 ? 0 : 1);
      },
      [](int status) {
        return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
               (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
      },
      "");
  free(p);
}

struct alignas(256) Overaligned {
  char bytes[256];
};

TEST_F(MallocTest, EveryOperatorNewFormRunsOnIt) {
  int* a = new int(5);
  int* b = new int[10];
  int* c = new (std::nothrow) int(6);
  int* d = new (std::nothrow) int[10];
  auto* e = new Overaligned;
  auto* f = new Overaligned[3];
  auto* g = new (std::nothrow) Overaligned;
  auto* h = new (std::nothrow) Overaligned[2];
  for (const void* p :
       {static_cast<const void*>(a), static_cast<const void*>(b),
        static_cast<const void*>(c), static_cast<const void*>(d),
        static_cast<const void*>(e), static_cast<const void*>(g)}) {
    EXPECT_TRUE(Owns(p));
  }
  EXPECT_TRUE(Aligned(e, 256));
  EXPECT_TRUE(Aligned(f, 256));
  EXPECT_TRUE(Aligned(g, 256));
  EXPECT_TRUE(Aligned(h, 256));
  delete a;
  delete[] b;
  operator delete(c, std::nothrow);
  operator delete[](d, std::nothrow);
  delete e;
  delete[] f;
  operator delete (g, std::align_val_t{256}, std::nothrow);
  operator delete[](h, std::align_val_t{256}, std::nothrow);
  void* sized = operator new(100);
  operator delete(sized, 100);
  void* sized_aligned = operator new (100, std::align_val_t{64});
  EXPECT_TRUE(Aligned(sized_aligned, 64));
  operator delete (sized_aligned, 100, std::align_val_t{64});
  void* array_sized = operator new[](40);
  operator delete[](array_sized, 40);
}

int handler_calls = 0;
void CountingHandler() {
  ++handler_calls;
  std::set_new_handler(nullptr);  // The next failure throws.
}

TEST_F(MallocTest, FailingNewCallsTheHandlerThenThrows) {
  handler_calls = 0;
  std::set_new_handler(CountingHandler);
  EXPECT_THROW(static_cast<void>(operator new(Opaque(SIZE_MAX / 2))),
               std::bad_alloc);
  EXPECT_EQ(handler_calls, 1);
  EXPECT_THROW(static_cast<void>(operator new[](Opaque(SIZE_MAX / 2),
                                                std::align_val_t{64})),
               std::bad_alloc);
  EXPECT_EQ(operator new(Opaque(SIZE_MAX / 2), std::nothrow), nullptr);
  EXPECT_EQ(operator new[](Opaque(SIZE_MAX / 2), std::align_val_t{64},
                           std::nothrow),
            nullptr);
  // Thrown and caught by the program's own C++ runtime, even under
  // LD_PRELOAD (whose library carries a copy of its own): its count of
  // exceptions in flight is back to zero.
  EXPECT_EQ(std::uncaught_exceptions(), 0);
}

void ThrowingHandler() { throw std::bad_alloc(); }

TEST_F(MallocTest, NothrowNewReturnsNullWhenTheHandlerThrows) {
  std::set_new_handler(ThrowingHandler);
  EXPECT_EQ(operator new(Opaque(SIZE_MAX / 2), std::nothrow), nullptr);
  EXPECT_EQ(operator new[](Opaque(SIZE_MAX / 2), std::nothrow), nullptr);
  std::set_new_handler(nullptr);
  EXPECT_EQ(std::uncaught_exceptions(), 0);
  try {
    throw 1;
  } catch (int) {
    EXPECT_EQ(std::uncaught_exceptions(), 0);
  }
}

TEST_F(MallocTest, ForkedChildAllocatesWhileOtherThreadsWereBusy) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  for (int t = 0; t < 4; ++t) {
    busy.emplace_back([&stop] {
      while (!stop.load()) free(malloc(64 + rand() % 4096));
    });
  }
  for (int i = 0; i < 20; ++i) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      bool ok = true;
      for (int j = 0; j < 1000; ++j) {
        void* p = malloc(static_cast<std::size_t>(j));
        ok = ok && p != nullptr && rusty_malloc_owns(p);
        free(p);
      }
      _exit(ok && rusty_malloc_verify() == 1 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  stop = true;
  for (std::thread& t : busy) t.join();
}

TEST_F(MallocTest, BlocksOutliveTheThreadsThatAllocatedThem) {
  std::vector<void*> left(32);
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&left, t] {
      std::vector<std::string> strings(100, std::string(100, 'x'));
      left[static_cast<std::size_t>(t)] = malloc(1000);
      std::memset(left[static_cast<std::size_t>(t)], t, 1000);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 32; ++t) {
    EXPECT_EQ(static_cast<char*>(left[static_cast<std::size_t>(t)])[999], t);
    free(left[static_cast<std::size_t>(t)]);
  }
}

TEST_F(MallocTest, StandardContainersRunOnIt) {
  std::map<int, std::string> m;
  for (int i = 0; i < 1000; ++i)
    m[i] = std::string(static_cast<std::size_t>(i % 100), 'a');
  std::vector<int> v(1000, 7);
  EXPECT_TRUE(Owns(v.data()));
  EXPECT_EQ(m[999].size(), 99u);
}

}  // namespace

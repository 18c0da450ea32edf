#include <signal.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "absl/base/attributes.h"
#include "allocator/common/os_memory.h"
#include "allocator/guarded/fault_handler.h"
#include "allocator/guarded/guarded_pool.h"
#include "gtest/gtest.h"

// Each scenario runs in a death test's child, which installs the handler:
// the test process itself keeps the default actions.

namespace rusty_malloc {
namespace {

// Whether a SIGSEGV handler was installed before the test's own code ran:
// ASan's, TSan's and UBSan's runtimes install one at start-up (which
// reports the fault and exits), and then "the action before ours" is
// theirs. Asked of the process rather than of the build, so that every
// sanitizer, and any other runtime doing the same, is covered.
bool SomeoneHandlesFaults() {
  struct sigaction current = {};
  sigaction(SIGSEGV, nullptr, &current);
  if ((current.sa_flags & SA_SIGINFO) != 0) {
    return current.sa_sigaction != nullptr;
  }
  return current.sa_handler != SIG_DFL;
}

// A write the compiler must emit.
void Poke(char* p) { *static_cast<volatile char*>(p) = 1; }

// A pool with the handler installed. Leaked on purpose: it lives in a
// death test's child until the process dies.
GuardedPool* PoolWithHandler(GuardedPlacement placement) {
  auto* pool = new GuardedPool(4, placement);
  if (!InstallGuardedFaultHandler(pool)) _exit(90);
  return pool;
}

char* Allocate(GuardedPool* pool, std::size_t size) {
  auto* p = static_cast<char*>(pool->Allocate(size, 1));
  if (p == nullptr) _exit(91);
  return p;
}

ABSL_ATTRIBUTE_NOINLINE void WriteAfterFree() {
  GuardedPool* pool = PoolWithHandler(GuardedPlacement::kAgainstEnd);
  char* p = Allocate(pool, 64);
  pool->Deallocate(p);
  Poke(p + 16);
}

ABSL_ATTRIBUTE_NOINLINE void WriteOnePastTheEnd() {
  char* p = Allocate(PoolWithHandler(GuardedPlacement::kAgainstEnd), 64);
  Poke(p + 64);
}

ABSL_ATTRIBUTE_NOINLINE void WriteOneBeforeTheStart() {
  char* p = Allocate(PoolWithHandler(GuardedPlacement::kAgainstStart), 48);
  Poke(p - 1);
}

// A frame in the test binary, as the first of a stack (Allocate's or
// Deallocate's caller, from this file) is.
#define IN_THIS_TEST \
  "rusty_malloc:   #0 0x[0-9a-f]+ [^\n]*guarded_fault_test\\+0x"

TEST(GuardedFaultDeathTest, WriteAfterFree) {
  EXPECT_EXIT(WriteAfterFree(), ::testing::KilledBySignal(SIGSEGV),
              "rusty_malloc: guarded allocation: use after free at "
              "0x[0-9a-f]+ \\(offset 16 of a 64-byte block at 0x[0-9a-f]+\\)\n"
              "rusty_malloc: allocated by thread [0-9]+ at:\n" IN_THIS_TEST
              ".*rusty_malloc: freed by thread [0-9]+ at:\n" IN_THIS_TEST
              ".*rusty_malloc: accessed by thread [0-9]+ at:\n");
}

TEST(GuardedFaultDeathTest, WriteOnePastTheEnd) {
  EXPECT_EXIT(WriteOnePastTheEnd(), ::testing::KilledBySignal(SIGSEGV),
              "rusty_malloc: guarded allocation: buffer overflow at "
              "0x[0-9a-f]+ \\(offset 64 of a 64-byte block at 0x[0-9a-f]+\\)\n"
              "rusty_malloc: allocated by thread [0-9]+ at:\n" IN_THIS_TEST
              ".*rusty_malloc: accessed by thread [0-9]+ at:\n");
}

TEST(GuardedFaultDeathTest, WriteOneBeforeTheStart) {
  EXPECT_EXIT(WriteOneBeforeTheStart(), ::testing::KilledBySignal(SIGSEGV),
              "rusty_malloc: guarded allocation: buffer underflow at "
              "0x[0-9a-f]+ \\(offset -1 of a 48-byte block at 0x[0-9a-f]+\\)\n"
              "rusty_malloc: allocated by thread [0-9]+ at:\n" IN_THIS_TEST);
}

// A fault outside the pool goes to the handler installed before.
void PreviousHandler(int /*sig*/) {
  static constexpr char kText[] = "the previous handler ran\n";
  if (write(STDERR_FILENO, kText, sizeof(kText) - 1) < 0) _exit(5);
  _exit(3);
}

ABSL_ATTRIBUTE_NOINLINE void FaultOutsideThePool() {
  struct sigaction previous = {};
  previous.sa_handler = PreviousHandler;
  sigemptyset(&previous.sa_mask);
  sigaction(SIGSEGV, &previous, nullptr);
  Allocate(PoolWithHandler(GuardedPlacement::kAgainstEnd), 8);
  auto* elsewhere = static_cast<char*>(Reserve(OsPageSize()));
  if (elsewhere == nullptr) _exit(92);
  Poke(elsewhere);
}

TEST(GuardedFaultDeathTest, FaultsOutsideThePoolGoToThePreviousHandler) {
  EXPECT_EXIT(FaultOutsideThePool(), ::testing::ExitedWithCode(3),
              "^the previous handler ran\n$");
}

ABSL_ATTRIBUTE_NOINLINE void FaultOutsideThePoolByDefault() {
  Allocate(PoolWithHandler(GuardedPlacement::kAgainstEnd), 8);
  auto* elsewhere = static_cast<char*>(Reserve(OsPageSize()));
  if (elsewhere == nullptr) _exit(92);
  Poke(elsewhere);
}

TEST(GuardedFaultDeathTest, FaultsOutsideThePoolKillAsBefore) {
  if (SomeoneHandlesFaults()) {
    // The action before ours is the sanitizer's: its report and exit code.
    EXPECT_DEATH(FaultOutsideThePoolByDefault(), "Sanitizer.*SEGV");
  } else {
    EXPECT_EXIT(FaultOutsideThePoolByDefault(),
                ::testing::KilledBySignal(SIGSEGV), "^$");
  }
}

ABSL_ATTRIBUTE_NOINLINE void IgnoredSignalOutsideThePool() {
  signal(SIGSEGV, SIG_IGN);
  Allocate(PoolWithHandler(GuardedPlacement::kAgainstEnd), 8);
  raise(SIGSEGV);  // Not a fault at an address of the pool.
  _exit(7);
}

TEST(GuardedFaultDeathTest, AnIgnoredSignalStaysIgnored) {
  EXPECT_EXIT(IgnoredSignalOutsideThePool(), ::testing::ExitedWithCode(7),
              "^$");
}

}  // namespace
}  // namespace rusty_malloc

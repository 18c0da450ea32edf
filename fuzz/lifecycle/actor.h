// Part of per_thread_lifecycle_fuzzer: the actors, threads that run one
// command at a time for the fuzz loop, so that an input replays the same
// way every time; apart from the scenarios because every scenario drives
// them the same way.

#ifndef RUSTY_MALLOC_FUZZ_LIFECYCLE_ACTOR_H_
#define RUSTY_MALLOC_FUZZ_LIFECYCLE_ACTOR_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace rusty_malloc::fuzzing::lifecycle {

// A thread that runs the tasks it is given, one at a time, until it is
// told to exit.
class Actor {
 public:
  Actor() : thread_([this] { Loop(); }) {}
  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;
  ~Actor() {
    Start(nullptr);
    thread_.join();
  }

  // Hands `task` to the thread (nullptr: exit) and returns at once.
  void Start(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = std::move(task);
    exit_ = task_ == nullptr;
    pending_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !pending_; });
  }
  void Run(std::function<void()> task) {
    Start(std::move(task));
    Wait();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return pending_; });
        if (exit_) return;
        task = std::move(task_);
      }
      task();
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = false;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> task_;
  bool pending_ = false;
  bool exit_ = false;
  std::thread thread_;
};

constexpr int kActors = 4;

// The actors' threads outlive the input: starting a thread costs more than
// most commands (a stack, the sanitizer's per-thread state; under TSan,
// half of an input's time), and a thread that ends only at the end of an
// input teaches nothing the thread-exit commands do not. A kept thread's
// binding names the previous input's allocator, which every allocator
// tells apart from its own (ThreadBinding's instance id and heap tags), so
// each input still starts with threads that have no heap in it. Never
// destroyed: the threads wait for work until the process exits.
inline std::unique_ptr<Actor>* ActorPool() {
  static auto* const pool = new std::unique_ptr<Actor>[kActors];
  return pool;
}

}  // namespace rusty_malloc::fuzzing::lifecycle

#endif  // RUSTY_MALLOC_FUZZ_LIFECYCLE_ACTOR_H_

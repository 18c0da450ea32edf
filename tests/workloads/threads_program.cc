// A multi-threaded C++ program for the LD_PRELOAD test: threads build maps,
// strings and vectors, and hand objects to each other through a queue, so
// that blocks are freed by threads other than their allocators. Prints a
// checksum that does not depend on scheduling.

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Parcel {
  std::vector<std::string> lines;
  std::uint64_t sum = 0;
};

class Queue {
 public:
  void Push(std::unique_ptr<Parcel> p) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(p));
    cv_.notify_one();
  }
  std::unique_ptr<Parcel> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !items_.empty(); });
    auto p = std::move(items_.front());
    items_.pop_front();
    return p;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Parcel>> items_;
};

}  // namespace

int main() {
  constexpr int kThreads = 8;
  constexpr int kParcels = 400;
  Queue queue;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&queue, t] {
      for (int i = 0; i < kParcels; ++i) {
        auto parcel = std::make_unique<Parcel>();
        std::map<int, std::string> scratch;
        for (int j = 0; j < 50; ++j) {
          scratch[j * t + i] =
              std::string(static_cast<std::size_t>(j % 40), 'a' + j % 26);
          parcel->lines.push_back(std::to_string(t * 1000000 + i * 100 + j));
        }
        for (const auto& [k, v] : scratch)
          parcel->sum += static_cast<std::uint64_t>(k) + v.size();
        queue.Push(std::move(parcel));
      }
    });
  }
  std::uint64_t total = 0;
  std::thread consumer([&queue, &total] {
    std::unordered_map<std::string, int> seen;
    for (int n = 0; n < kThreads * kParcels; ++n) {
      std::unique_ptr<Parcel> parcel = queue.Pop();  // Freed on this thread.
      total += parcel->sum;
      for (const std::string& line : parcel->lines) seen[line.substr(0, 3)]++;
    }
    total += seen.size();
  });
  for (std::thread& t : producers) t.join();
  consumer.join();
  std::printf("checksum %llu\n", static_cast<unsigned long long>(total));
  return 0;
}

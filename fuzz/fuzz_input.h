#ifndef RUSTY_MALLOC_FUZZ_FUZZ_INPUT_H_
#define RUSTY_MALLOC_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

namespace rusty_malloc::fuzzing {

// Reads a fuzzer's bytes as a stream of small integers. Past the end it reads
// zeros, so every input decodes to some operation sequence and mutations
// never have to keep a format valid.
class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size)
      : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }

  // The bytes not read yet, for a harness that splits them up itself.
  std::span<const std::uint8_t> Rest() const {
    return empty() ? std::span<const std::uint8_t>()
                   : std::span<const std::uint8_t>(data_ + pos_, size_ - pos_);
  }

  std::uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  std::uint16_t Uint16() {
    const std::uint16_t low = Byte();
    return static_cast<std::uint16_t>(low | Byte() << 8);
  }

  // A size's raw material: one of `shapes` ways to spread it (a byte) and a
  // 16-bit value to spread, read in that order.
  struct Shaped {
    int shape;
    std::size_t value;
  };
  Shaped ShapedValue(int shapes) {
    const int shape = Byte() % shapes;
    return {shape, Uint16()};
  }

  // A size spread over magnitudes: mostly small, now and then up to 2 MiB
  // (past every trim threshold and grower step). Large sizes are rare
  // because each costs a millisecond of page faults and pattern bytes.
  std::size_t Size() {
    const auto [shape, value] = ShapedValue(16);
    if (shape < 6) return value % 128;
    if (shape < 11) return value % 4096;
    if (shape < 13) return value;
    if (shape < 15) return value << 4;
    return value << 5;
  }

  // A power-of-two alignment from 1 to 64 KiB, now and then an invalid one.
  std::size_t Alignment() {
    const std::uint8_t b = Byte();
    if (b < 0xf8) return std::size_t{1} << (b % 17);
    static constexpr std::size_t kInvalid[] = {
        0, 3, 24, 48, 4097, 65535, SIZE_MAX, SIZE_MAX / 2 + 1};
    return kInvalid[b % 8];
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// A harness's verdict on an error: print it and abort, so libFuzzer saves
// the input and the replay test fails.
inline void Require(const std::string& error) {
  if (error.empty()) return;
  std::fprintf(stderr, "heap check failed: %s\n", error.c_str());
  std::abort();
}

// The harness: each fuzzer defines it, once. fuzz/fuzz_entry.cc, the
// engine's entry point, runs it on every input.
void FuzzOne(FuzzInput& in);

}  // namespace rusty_malloc::fuzzing

#endif  // RUSTY_MALLOC_FUZZ_FUZZ_INPUT_H_

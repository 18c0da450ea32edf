#ifndef RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_FUZZ_BYTES_H_
#define RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_FUZZ_BYTES_H_

// The inverses of the harnesses' decoders: the bytes that make a harness
// read a given size, count or alignment. Each gives the value the harness
// will read, the request itself where it can express it, else the nearest
// above (or its largest). The tests check them against the decoders
// themselves (fuzz/fuzz_input.h, fuzz/c_interface/decode.cc).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rusty_malloc::trace_to_fuzz {

struct Encoded3 {
  std::uint8_t bytes[3];  // A shape byte, then a 16-bit value, low first.
  std::size_t value;      // What the harness decodes them to.
};

struct Encoded1 {
  std::uint8_t byte;
  std::size_t value;
};

// FuzzInput::Size(): up to 2 MiB less 32 bytes.
Encoded3 ModelSize(std::size_t size);
// FuzzInput::Alignment(): the valid ones, powers of two up to 64 KiB.
Encoded1 ModelAlignment(std::size_t align);
// per_thread_lifecycle_fuzzer's `1 << (byte % 13)`: up to 4 KiB.
Encoded1 LifecycleAlignment(std::size_t align);

// c_interface::DecodeSize: below 1 MiB exactly or to the next 4 bytes or
// page, then its edges up to 16 MiB and 32 bytes (never its sizes that
// must fail).
Encoded3 CInterfaceSize(std::size_t size);
// c_interface::DecodeCount: up to 65535.
Encoded3 CInterfaceCount(std::size_t count);
// c_interface::DecodeAlign: powers of two up to 64 KiB, and 1 MiB.
Encoded1 CInterfaceAlign(std::size_t align);

inline void Put(std::vector<std::uint8_t>& out, const Encoded3& e) {
  out.insert(out.end(), e.bytes, e.bytes + 3);
}
inline void PutUint16(std::vector<std::uint8_t>& out, std::size_t value) {
  out.push_back(static_cast<std::uint8_t>(value));
  out.push_back(static_cast<std::uint8_t>(value >> 8));
}

}  // namespace rusty_malloc::trace_to_fuzz

#endif  // RUSTY_MALLOC_TOOLS_TRACE_TO_FUZZ_FUZZ_BYTES_H_

// Part of malloc_fuzzer: glibc's extensions that govern what the heap
// gives back, malloc_trim (the footprint oracle) and mallopt (the
// process's retained-memory bound), apart because they act on the whole
// heap and the process's settings rather than on one block.

#include "fuzz/c_interface/model.h"

namespace rusty_malloc::fuzzing::c_interface {

// malloc_trim: 0 or 1 (not "nothing left", as a second call may
// decommit the medium heap's free blocks again and say 1, as glibc's
// does), the live blocks intact, and the footprint oracle exactly: the
// fuzzer's thread has the heap's only thread heap, which the trim purged
// (every empty page retired, every chunk without a page in use released), so
// the heap keeps exactly the chunks where a live small block lies. A chunk
// kept empty, or a page decommitted under a live block, fails.
void Model::MallocTrim(FuzzInput& in) {
  const std::size_t pad = DecodeSize(in);
  work_ += 8;  // A walk of every page, and the kernel's work.
  const int result = c_api::MallocTrim(heap_, pad);
  if (result != 0 && result != 1) {
    Fail("malloc_trim's result", static_cast<std::size_t>(result));
  }
  std::vector<const void*> chunks;
  for (const Block& b : live_) {
    if (heap_.source().Contains(b.ptr)) chunks.push_back(ChunkOf(b.ptr));
  }
  std::sort(chunks.begin(), chunks.end());
  const auto in_use = static_cast<std::size_t>(
      std::unique(chunks.begin(), chunks.end()) - chunks.begin());
  const std::size_t held = ChunkBytes(heap_.Stats());
  if (held != in_use * kChunkSize) {
    Fail("malloc_trim left chunks without a live block", held / kChunkSize,
         in_use);
  }
  if (!live_.empty()) {
    const Block& b = live_[in.Uint16() % live_.size()];
    CheckContents(b, b.size, "malloc_trim damaged a live block");
  }
}

// mallopt as malloc.cc's: M_TRIM_THRESHOLD sets the retained-memory
// bound (the value converted as glibc does: -1 is no bound), which the
// heap's chunk source and large-block cache then follow; M_CHECK_ACTION
// accepts the values that abort; every other parameter is refused and
// changes nothing. Run() restores the bound after the input.
void Model::Mallopt(FuzzInput& in) {
  static constexpr int kParams[] = {M_TRIM_THRESHOLD,
                                    M_TRIM_THRESHOLD,
                                    M_CHECK_ACTION,
                                    M_MXFAST,
                                    M_TOP_PAD,
                                    M_MMAP_THRESHOLD,
                                    M_MMAP_MAX,
                                    M_PERTURB,
                                    M_ARENA_TEST,
                                    M_ARENA_MAX,
                                    0,
                                    999};
  const int param = kParams[in.Byte() % std::size(kParams)];
  const auto [shape, v] = in.ShapedValue(8);
  static constexpr int kEdges[] = {-1, 0, 1, INT_MAX, INT_MIN, -4096};
  const int value = shape < 2   ? kEdges[v % std::size(kEdges)]
                    : shape < 5 ? static_cast<int>(v << (shape * 4))
                                : static_cast<int>(v);
  Tunables& tunables = TheTunables();
  const std::size_t before = tunables.retained_bytes_max.load();
  const int result = ApplyMallopt(param, value, tunables) ? 1 : 0;
  const std::size_t after = tunables.retained_bytes_max.load();
  int expected = 0;
  std::size_t bound = before;
  if (param == M_TRIM_THRESHOLD) {
    expected = 1;
    bound = static_cast<std::size_t>(value);
  } else if (param == M_CHECK_ACTION) {
    expected = (value & 2) != 0 ? 1 : 0;
  }
  if (result != expected || after != bound) {
    Fail("mallopt", static_cast<std::size_t>(param),
         static_cast<std::size_t>(value));
  }
}

}  // namespace rusty_malloc::fuzzing::c_interface

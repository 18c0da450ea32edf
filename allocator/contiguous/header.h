#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEADER_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEADER_H_

#include <cstddef>
#include <cstdint>

#include "allocator/common/alignment.h"
#include "allocator/common/check.h"
#include "allocator/common/sanitizer.h"

namespace rusty_malloc {

// Block layout, in the manner of dlmalloc's boundary tags:
//
//   occupied: [header 8][payload ..................................]
//   free:     [header 8][next 8][prev 8][ ... unused ... ][footer 8]
//
// A header sits 8 bytes below a 16-aligned payload. A free block repeats its
// size in a footer, and the next block's header has a prev-free bit, so a
// block can find its left neighbour exactly when that neighbour is free: the
// one case where merging needs it. Occupied blocks pay 8 bytes of overhead.

inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kMinBlockSize = 32;  // Header, two links, footer.
// The size field has 48 bits; anything larger is refused before it is rounded.
inline constexpr std::size_t kMaxBlockSize = std::size_t{1} << 47;
static_assert(kMaxAlignment == kMaxBlockSize >> 1);

// The block size that holds a `request`-byte allocation, or 0 when the
// request is too large to represent (so callers cannot overflow by rounding).
[[nodiscard]] constexpr std::size_t BlockSizeFor(std::size_t request) {
  if (request > kMaxBlockSize - kHeaderSize - kGranule) return 0;
  const std::size_t size = AlignUp(request + kHeaderSize, kGranule);
  return size < kMinBlockSize ? kMinBlockSize : size;
}

// A view of the header at the start of a block. Block pointers are the
// addresses of headers; a Block is never constructed, only pointed at.
//
// Every header carries a 16-bit check tag computed from its address and
// contents. A pointer the heap never handed out, or a header a client
// overwrote, fails the tag check with probability 1 - 2^-16, which is what
// lets free() diagnose misuse instead of corrupting the heap.
class Block {
 public:
  Block() = delete;

  static Block* At(void* header) { return static_cast<Block*>(header); }
  static Block* FromPayload(void* payload) {
    return At(static_cast<std::byte*>(payload) - kHeaderSize);
  }

  std::byte* Address() { return reinterpret_cast<std::byte*>(this); }
  void* Payload() { return Address() + kHeaderSize; }

  RUSTY_MALLOC_METADATA_ACCESS std::size_t Size() const {
    return word_ & kSizeMask;
  }
  RUSTY_MALLOC_METADATA_ACCESS bool IsFree() const { return word_ & kFreeBit; }
  RUSTY_MALLOC_METADATA_ACCESS bool IsPrevFree() const {
    return word_ & kPrevFreeBit;
  }
  RUSTY_MALLOC_METADATA_ACCESS bool HasValidTag() const {
    return (word_ & kTagMask) == Tag(word_ & ~kTagMask);
  }
  // Bytes the client may use in an occupied block.
  std::size_t UsableSize() const { return Size() - kHeaderSize; }

  // The block that follows this one in address order.
  Block* Next() { return At(Address() + Size()); }
  // The block before this one. Only meaningful when IsPrevFree(): it reads
  // that block's footer.
  RUSTY_MALLOC_METADATA_ACCESS Block* Prev() {
    const std::size_t prev_size =
        *reinterpret_cast<const std::size_t*>(Address() - sizeof(std::size_t));
    return At(Address() - prev_size);
  }
  // The footer a free block keeps in its last word, for Verify().
  RUSTY_MALLOC_METADATA_ACCESS std::size_t Footer() {
    return *reinterpret_cast<const std::size_t*>(Address() + Size() -
                                                 sizeof(std::size_t));
  }

  // Writes an occupied header. `size` is 0 (the heap's end marker) or a
  // multiple of kGranule of at least kMinBlockSize.
  void WriteOccupied(std::size_t size, bool prev_free) {
    RUSTY_MALLOC_DCHECK(
        size % kGranule == 0 && (size == 0 || size >= kMinBlockSize), this);
    Write(size | (prev_free ? kPrevFreeBit : 0));
  }
  // Writes a free header and its footer.
  RUSTY_MALLOC_METADATA_ACCESS void WriteFree(std::size_t size,
                                              bool prev_free) {
    RUSTY_MALLOC_DCHECK(size % kGranule == 0 && size >= kMinBlockSize, this);
    Write(size | kFreeBit | (prev_free ? kPrevFreeBit : 0));
    *reinterpret_cast<std::size_t*>(Address() + size - sizeof(std::size_t)) =
        size;
  }
  RUSTY_MALLOC_METADATA_ACCESS void SetPrevFree(bool prev_free) {
    Write((word_ & ~(kTagMask | kPrevFreeBit)) |
          (prev_free ? kPrevFreeBit : 0));
  }

 private:
  static constexpr std::uint64_t kFreeBit = 1;
  static constexpr std::uint64_t kPrevFreeBit = 2;
  static constexpr std::uint64_t kTagMask = 0xffffULL << 48;
  static constexpr std::uint64_t kSizeMask = ~kTagMask & ~std::uint64_t{0xf};

  // Mixes the header's address into its contents and keeps the top 16 bits.
  RUSTY_MALLOC_METADATA_ACCESS std::uint64_t Tag(std::uint64_t contents) const {
    const auto address = reinterpret_cast<std::uintptr_t>(this);
    const std::uint64_t mixed =
        (address ^ (contents * 0xff51afd7ed558ccdULL)) * 0x9e3779b97f4a7c15ULL;
    return mixed & kTagMask;
  }
  RUSTY_MALLOC_METADATA_ACCESS void Write(std::uint64_t contents) {
    word_ = contents | Tag(contents);
  }

  std::uint64_t word_;
};

static_assert(sizeof(Block) == kHeaderSize);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEADER_H_

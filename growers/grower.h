#ifndef RUSTY_MALLOC_GROWERS_GROWER_H_
#define RUSTY_MALLOC_GROWERS_GROWER_H_

#include <concepts>
#include <cstddef>

namespace rusty_malloc {

// Every Base() and every byte count passed to or returned by a grower is a
// multiple of this, so that block headers laid out on it stay aligned.
inline constexpr std::size_t kGrowerAlignment = 16;

// A grower is the allocator's backing store: one contiguous byte range
// [Base(), Base() + Size()) that grows and shrinks at its end only.
//
// The contract, which RawMalloc relies on and every grower's test checks:
//   std::size_t Grow(std::size_t min_bytes)
//     `min_bytes` is a nonzero multiple of kGrowerAlignment. Extends the
//     range by at least `min_bytes`, contiguously with its current end, and
//     returns the number of bytes added (a multiple of kGrowerAlignment). The
//     new bytes are readable and writable. Returns 0 and changes nothing when
//     it cannot: a range that cannot be extended in place (another user of
//     the program break moved it) is a refusal, never a different range.
//   bool Shrink(std::size_t bytes)
//     `bytes` is a multiple of kGrowerAlignment, at most Size(). Gives the
//     last `bytes` bytes back and returns true, or returns false and changes
//     nothing. Callers must not touch the released bytes again.
//   std::byte* Base() const, std::size_t Size() const
//     Size() is 0 until the first successful Grow. Base() is aligned to
//     kGrowerAlignment and never changes once Size() has been nonzero.
//
// Optionally, a grower that can give memory back without shrinking:
//   void Decommit(std::byte* p, std::size_t bytes)
//     [p, p + bytes) is whole pages inside [Base(), Base() + Size()) that the
//     allocator no longer needs the contents of; their memory goes back to
//     the OS and they read as zero (or as before) afterwards.
//
// A grower is not thread-safe; its allocator serialises calls to it.
template <typename G>
concept Grower = requires(G& g, const G& cg, std::size_t bytes) {
  { g.Grow(bytes) } -> std::same_as<std::size_t>;
  { g.Shrink(bytes) } -> std::same_as<bool>;
  { cg.Base() } -> std::same_as<std::byte*>;
  { cg.Size() } -> std::same_as<std::size_t>;
};

// The optional Decommit above.
template <typename G>
concept DecommittingGrower = Grower<G> &&
    requires(G& g, std::byte* p, std::size_t bytes) {
  g.Decommit(p, bytes);
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_GROWERS_GROWER_H_

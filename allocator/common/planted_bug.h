#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_PLANTED_BUG_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_PLANTED_BUG_H_

namespace rusty_malloc {

// Bugs planted on purpose, so tools/check_planted_bugs.sh can prove that the
// fuzzers find each one. Every site tests Planted(...) in ordinary code (an
// `if` or a conditional expression, never the preprocessor): compiled, and
// so kept honest, in every build, and dead code unless the build names the
// bug with -DRUSTY_MALLOC_PLANTED_BUG=<enumerator>.
enum class PlantedBug {
  kNone,
  // Contiguous heap.
  kSplitOffByOneWord,      // A split's remainder gets its header a word off.
  kSkipLeftMerge,          // Free does not merge with a free left neighbour.
  kDecommitRoundsOutward,  // Decommit takes the partial pages at both ends.
  kStaleLink,    // Free-list removal leaves the next node's back link.
  kEarlyUnlock,  // RustyMalloc drops its lock before updating the list.
  // Per-thread allocator.
  kCollectAllWalksReleasedChunk,  // CollectAll goes on after a release.
  kRemoteFreeOnLocalList,   // A remote free is linked onto the owner's list.
  kRetiredPageLeftQueued,   // A retired page stays in its size-class queue.
  kCollectForgetsCount,     // Collect takes blocks back but not their count.
  kChunkReleasedInUse,      // A chunk is released with one page still in use.
  kSpanLeftMarked,          // A retired span's later pages still point back.
  kStatsWalkRemoteList,     // Statistics follow pages' remote-free lists.
  kReleasedChunkNotReused,  // A released chunk is never handed out again.
  kRemoteBatchKeptAtExit,   // An exiting thread keeps its remote batches.
  kReclaimTakesFrontPage,   // Reclaim takes a page at its queue's front.
  // Large blocks.
  kKeptMappingCountsAsZero,  // A reused mapping is reported as zeroed.
  kShiftStopsAtFirstStay,    // Deletion stops shifting at an entry at home.
  // C front end.
  kCallocSkipsZeroing,  // calloc trusts reused memory above a page to be 0.
};

#ifndef RUSTY_MALLOC_PLANTED_BUG
#define RUSTY_MALLOC_PLANTED_BUG kNone
#endif

inline constexpr PlantedBug kPlantedBug = PlantedBug::RUSTY_MALLOC_PLANTED_BUG;

constexpr bool Planted(PlantedBug bug) { return kPlantedBug == bug; }

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_PLANTED_BUG_H_

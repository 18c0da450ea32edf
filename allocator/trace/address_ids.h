#ifndef RUSTY_MALLOC_ALLOCATOR_TRACE_ADDRESS_IDS_H_
#define RUSTY_MALLOC_ALLOCATOR_TRACE_ADDRESS_IDS_H_

// The recorder's renaming of live blocks to ids (trace_format.h): a hash
// table from address to {id, size} that never calls malloc (its memory
// comes from os_memory), split into shards with a lock each, so threads
// renaming different blocks rarely meet. Constant-initialised.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "allocator/common/spin_lock.h"

namespace rusty_malloc::trace {

class AddressIds {
 public:
  constexpr AddressIds() = default;
  AddressIds(const AddressIds&) = delete;
  AddressIds& operator=(const AddressIds&) = delete;

  // Gives the live block at `p` (not null, not in the table) the next id;
  // 0 when the table cannot grow (the OS refused memory), and then `p`
  // stays unknown.
  [[nodiscard]] std::uint64_t Add(const void* p, std::uint64_t size);
  // Puts `p` back with the id Take returned for it (a realloc that failed).
  void Restore(const void* p, std::uint64_t id, std::uint64_t size);
  // Removes `p` and returns its id (and its size in *size), or 0 when it
  // is not in the table.
  [[nodiscard]] std::uint64_t Take(const void* p, std::uint64_t* size);
  // The id of `p`, or 0.
  [[nodiscard]] std::uint64_t Find(const void* p);

  // fork(): every shard locked in the parent before, unlocked after in both.
  void LockAll() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void UnlockAll() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Calls visit(id, size) for every live block; only where no other thread
  // can touch the table (a fork's child, a test).
  template <typename Visit>
  void ForEachUnlocked(Visit visit) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    for (Shard& shard : shards_) {
      for (std::size_t i = 0; i < shard.capacity; ++i) {
        if (shard.entries[i].key != 0) {
          visit(shard.entries[i].id, shard.entries[i].size);
        }
      }
    }
  }

 private:
  struct Entry {
    std::uintptr_t key;  // The address; 0 for an empty slot.
    std::uint64_t id;
    std::uint64_t size;
  };
  // Open addressing with linear probing; a removal shifts the entries after
  // it back, so there are no tombstones and a lookup stops at a gap.
  struct Shard {
    SpinLock lock;
    Entry* entries ABSL_GUARDED_BY(lock) = nullptr;
    std::size_t capacity ABSL_GUARDED_BY(lock) = 0;  // A power of two.
    std::size_t used ABSL_GUARDED_BY(lock) = 0;
  };
  static constexpr std::size_t kShards = 64;
  static constexpr std::size_t kFirstCapacity = 1024;

  static std::uint64_t Hash(std::uintptr_t key);
  Shard& ShardOf(std::uint64_t hash) { return shards_[hash >> 58]; }
  static bool Insert(Shard& shard, std::uint64_t hash, std::uintptr_t key,
                     std::uint64_t id, std::uint64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.lock);
  static bool Grow(Shard& shard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.lock);
  static std::size_t Locate(const Shard& shard, std::uint64_t hash,
                            std::uintptr_t key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.lock);

  Shard shards_[kShards];
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace rusty_malloc::trace

#endif  // RUSTY_MALLOC_ALLOCATOR_TRACE_ADDRESS_IDS_H_

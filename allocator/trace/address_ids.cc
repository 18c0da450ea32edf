#include "allocator/trace/address_ids.h"

#include "allocator/common/os_memory.h"

namespace rusty_malloc::trace {

std::uint64_t AddressIds::Hash(std::uintptr_t key) {
  // splitmix64's finaliser: blocks a granule apart land far apart, and the
  // top bits (the shard) depend on every bit of the address.
  std::uint64_t x = key;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9;
  x ^= x >> 27;
  x *= 0x94d049bb133111eb;
  x ^= x >> 31;
  return x;
}

std::size_t AddressIds::Locate(const Shard& shard, std::uint64_t hash,
                               std::uintptr_t key) {
  const std::size_t mask = shard.capacity - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    if (shard.entries[i].key == key) return i;
    if (shard.entries[i].key == 0) return shard.capacity;
  }
}

bool AddressIds::Grow(Shard& shard) {
  const std::size_t capacity =
      shard.capacity == 0 ? kFirstCapacity : 2 * shard.capacity;
  auto* entries = static_cast<Entry*>(Map(capacity * sizeof(Entry)));
  if (entries == nullptr) return false;
  Entry* old = shard.entries;
  const std::size_t old_capacity = shard.capacity;
  shard.entries = entries;
  shard.capacity = capacity;
  for (std::size_t i = 0; i < old_capacity; ++i) {
    const Entry& e = old[i];
    if (e.key == 0) continue;
    std::size_t at = Hash(e.key) & (capacity - 1);
    while (entries[at].key != 0) at = (at + 1) & (capacity - 1);
    entries[at] = e;
  }
  if (old != nullptr) Unmap(old, old_capacity * sizeof(Entry));
  return true;
}

bool AddressIds::Insert(Shard& shard, std::uint64_t hash, std::uintptr_t key,
                        std::uint64_t id, std::uint64_t size) {
  // At most half full: probes stay short.
  if (2 * (shard.used + 1) > shard.capacity && !Grow(shard)) return false;
  const std::size_t mask = shard.capacity - 1;
  std::size_t at = hash & mask;
  while (shard.entries[at].key != 0) at = (at + 1) & mask;
  shard.entries[at] = {key, id, size};
  ++shard.used;
  return true;
}

std::uint64_t AddressIds::Add(const void* p, std::uint64_t size) {
  const auto key = reinterpret_cast<std::uintptr_t>(p);
  const std::uint64_t hash = Hash(key);
  Shard& shard = ShardOf(hash);
  SpinLockHolder hold(&shard.lock);
  const std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  return Insert(shard, hash, key, id, size) ? id : 0;
}

void AddressIds::Restore(const void* p, std::uint64_t id, std::uint64_t size) {
  const auto key = reinterpret_cast<std::uintptr_t>(p);
  const std::uint64_t hash = Hash(key);
  Shard& shard = ShardOf(hash);
  SpinLockHolder hold(&shard.lock);
  // It fitted before it was taken, unless a grow failed meanwhile: then
  // the block stays unknown, as Add's would.
  (void)Insert(shard, hash, key, id, size);
}

std::uint64_t AddressIds::Take(const void* p, std::uint64_t* size) {
  const auto key = reinterpret_cast<std::uintptr_t>(p);
  const std::uint64_t hash = Hash(key);
  Shard& shard = ShardOf(hash);
  SpinLockHolder hold(&shard.lock);
  if (shard.capacity == 0) return 0;
  std::size_t gap = Locate(shard, hash, key);
  if (gap == shard.capacity) return 0;
  const std::uint64_t id = shard.entries[gap].id;
  *size = shard.entries[gap].size;
  // Backward shift: an entry after the gap moves into it unless its home
  // slot lies cyclically after the gap (it would then be found before it).
  const std::size_t mask = shard.capacity - 1;
  for (std::size_t i = (gap + 1) & mask; shard.entries[i].key != 0;
       i = (i + 1) & mask) {
    const std::size_t home = Hash(shard.entries[i].key) & mask;
    if (((i - home) & mask) >= ((i - gap) & mask)) {
      shard.entries[gap] = shard.entries[i];
      gap = i;
    }
  }
  shard.entries[gap].key = 0;
  --shard.used;
  return id;
}

std::uint64_t AddressIds::Find(const void* p) {
  const auto key = reinterpret_cast<std::uintptr_t>(p);
  const std::uint64_t hash = Hash(key);
  Shard& shard = ShardOf(hash);
  SpinLockHolder hold(&shard.lock);
  if (shard.capacity == 0) return 0;
  const std::size_t at = Locate(shard, hash, key);
  return at == shard.capacity ? 0 : shard.entries[at].id;
}

void AddressIds::LockAll() {
  for (Shard& shard : shards_) shard.lock.Lock();
}

void AddressIds::UnlockAll() {
  for (Shard& shard : shards_) shard.lock.Unlock();
}

}  // namespace rusty_malloc::trace

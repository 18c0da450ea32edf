#include "allocator/trace/address_ids.h"

#include <cstdint>
#include <map>
#include <random>
#include <set>

#include "gtest/gtest.h"

namespace rusty_malloc::trace {
namespace {

const void* Address(std::uintptr_t a) { return reinterpret_cast<void*>(a); }

TEST(AddressIdsTest, IdsCountFromOneAndFollowTheirBlocks) {
  static AddressIds ids;
  EXPECT_EQ(ids.Add(Address(0x1000), 10), 1u);
  EXPECT_EQ(ids.Add(Address(0x2000), 20), 2u);
  EXPECT_EQ(ids.Find(Address(0x1000)), 1u);
  std::uint64_t size = 0;
  EXPECT_EQ(ids.Take(Address(0x1000), &size), 1u);
  EXPECT_EQ(size, 10u);
  EXPECT_EQ(ids.Find(Address(0x1000)), 0u);
  EXPECT_EQ(ids.Take(Address(0x1000), &size), 0u);
  // An address freed and reused is a new block with a new id.
  EXPECT_EQ(ids.Add(Address(0x1000), 30), 3u);
  ids.Restore(Address(0x3000), 2, 20);
  EXPECT_EQ(ids.Find(Address(0x3000)), 2u);
}

// Against a std::map, through growth and removals that shift entries back
// across the table's end: every live address keeps its id, and no removed
// one is found.
TEST(AddressIdsTest, MatchesAMapThroughGrowthAndRemoval) {
  static AddressIds ids;
  std::map<std::uintptr_t, std::uint64_t> model;
  std::mt19937_64 random(7);
  for (int step = 0; step < 400000; ++step) {
    const std::uintptr_t address = 16 * (1 + random() % 50000);
    auto found = model.find(address);
    if (found == model.end()) {
      const std::uint64_t id = ids.Add(Address(address), address / 16);
      ASSERT_NE(id, 0u);
      model[address] = id;
    } else {
      std::uint64_t size = 0;
      ASSERT_EQ(ids.Take(Address(address), &size), found->second);
      ASSERT_EQ(size, address / 16);
      model.erase(found);
    }
  }
  for (const auto& [address, id] : model) {
    ASSERT_EQ(ids.Find(Address(address)), id) << address;
  }
  std::set<std::uint64_t> visited;
  ids.ForEachUnlocked([&](std::uint64_t id, std::uint64_t) {
    EXPECT_TRUE(visited.insert(id).second);
  });
  EXPECT_EQ(visited.size(), model.size());
}

}  // namespace
}  // namespace rusty_malloc::trace

#include "allocator/large/mapping_table.h"

#include <cstdint>
#include <map>
#include <random>

#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

constexpr std::uintptr_t kPage = 4096;

TEST(MappingTableTest, EmptyTableFindsNothing) {
  MappingTable table;
  EXPECT_EQ(table.Find(kPage), 0u);
  EXPECT_EQ(table.Erase(kPage), 0u);
  EXPECT_EQ(table.Find(0), 0u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(MappingTableTest, RecordsFindsAndForgets) {
  MappingTable table;
  ASSERT_TRUE(table.Insert(7 * kPage, 3 * kPage));
  EXPECT_EQ(table.Find(7 * kPage), 3 * kPage);
  EXPECT_EQ(table.Find(8 * kPage), 0u);  // Inside, not a start.
  EXPECT_EQ(table.Erase(7 * kPage), 3 * kPage);
  EXPECT_EQ(table.Find(7 * kPage), 0u);
  EXPECT_EQ(table.Erase(7 * kPage), 0u);
}

// A held slot stays held through other inserts: the re-insert after a move
// never needs the table to grow.
TEST(MappingTableTest, AHeldSlotSurvivesOtherInserts) {
  MappingTable table;
  ASSERT_TRUE(table.Insert(kPage, kPage));
  ASSERT_TRUE(table.ReserveSlot());
  EXPECT_EQ(table.Erase(kPage), kPage);
  for (std::uintptr_t i = 2; i < 1000; ++i) {
    ASSERT_TRUE(table.Insert(i * kPage, kPage));
  }
  table.InsertReserved(5000 * kPage, 3 * kPage);
  EXPECT_EQ(table.Find(5000 * kPage), 3 * kPage);
  EXPECT_EQ(table.size(), 999u);
  for (std::uintptr_t i = 2; i < 1000; ++i) {
    ASSERT_EQ(table.Find(i * kPage), kPage);
  }
}

// Random inserts and erases, across many growths, against std::map: every
// key the model holds is found with its length, every erased one is gone
// (backward-shift deletion must not strand a later member of a probe run).
TEST(MappingTableTest, AgreesWithAMapThroughGrowthAndDeletion) {
  MappingTable table;
  std::map<std::uintptr_t, std::size_t> model;
  std::mt19937_64 random(42);
  for (int step = 0; step < 200000; ++step) {
    // Keys from a small range, so runs collide and erases hit.
    const std::uintptr_t key = (1 + random() % 20000) * kPage;
    if (random() % 3 != 0) {
      if (model.count(key) != 0) continue;
      const std::size_t bytes = (1 + random() % 64) * kPage;
      ASSERT_TRUE(table.Insert(key, bytes));
      model[key] = bytes;
    } else {
      const auto it = model.find(key);
      const std::size_t want = it == model.end() ? 0 : it->second;
      ASSERT_EQ(table.Erase(key), want) << "step " << step;
      if (it != model.end()) model.erase(it);
    }
    ASSERT_EQ(table.size(), model.size());
    if (step % 10000 == 0) {
      for (const auto& [begin, bytes] : model) {
        ASSERT_EQ(table.Find(begin), bytes) << "step " << step;
      }
    }
  }
  std::size_t visited = 0;
  table.ForEach([&](std::uintptr_t begin, std::size_t bytes) {
    EXPECT_EQ(model.at(begin), bytes);
    ++visited;
    return true;
  });
  EXPECT_EQ(visited, model.size());
}

}  // namespace
}  // namespace rusty_malloc

#include "allocator/drop_in/runtime_options.h"

#include <malloc.h>

#include <climits>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "allocator/drop_in/mallopt.h"
#include "allocator/drop_in/stats_format.h"
#include "allocator/sampling/sampler_stats.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

TEST(RuntimeOptionsTest, PurgeDelayIsMillisecondsOrNever) {
  EXPECT_EQ(ParsePurgeDelay("0"), 0);
  EXPECT_EQ(ParsePurgeDelay("250"), 250'000'000);
  EXPECT_EQ(ParsePurgeDelay("-1"), kNeverPurgeNs);
  for (const char* bad :
       {"", "-2", "1.5", " 1", "1s", "+1", "soon", "99999999999999999999"}) {
    EXPECT_EQ(ParsePurgeDelay(bad), std::nullopt) << bad;
  }
}

TEST(RuntimeOptionsTest, BytesTakeBinarySuffixes) {
  EXPECT_EQ(ParseBytes("0"), 0u);
  EXPECT_EQ(ParseBytes("4096"), 4096u);
  EXPECT_EQ(ParseBytes("64K"), 64u << 10);
  EXPECT_EQ(ParseBytes("3m"), 3u << 20);
  EXPECT_EQ(ParseBytes("2G"), std::size_t{2} << 30);
  for (const char* bad : {"", "K", "-1", "12X", "1KB", "1 M",
                          "99999999999999999999", "17179869184G"}) {
    EXPECT_EQ(ParseBytes(bad), std::nullopt) << bad;
  }
}

TEST(RuntimeOptionsTest, WordsAreExact) {
  EXPECT_EQ(ParseStatsFormat("1"), StatsFormat::kText);
  EXPECT_EQ(ParseStatsFormat("text"), StatsFormat::kText);
  EXPECT_EQ(ParseStatsFormat("json"), StatsFormat::kJson);
  EXPECT_EQ(ParseStatsFormat("0"), StatsFormat::kNone);
  EXPECT_EQ(ParseStatsFormat("JSON"), std::nullopt);
  EXPECT_EQ(ParseSwitch("1"), true);
  EXPECT_EQ(ParseSwitch("0"), false);
  EXPECT_EQ(ParseSwitch("yes"), std::nullopt);
  EXPECT_EQ(ParseMisuseAction("abort"), MisuseAction::kAbort);
  EXPECT_EQ(ParseMisuseAction("trace"), MisuseAction::kAbortWithStackTrace);
  EXPECT_EQ(ParseMisuseAction("ignore"), std::nullopt);
}

std::map<std::string, std::string>* fake_env;
std::vector<std::string>* warnings;

const char* FakeGetenv(const char* name) {
  auto it = fake_env->find(name);
  return it == fake_env->end() ? nullptr : it->second.c_str();
}

void RecordWarning(const char* name, const char* value, const char*) {
  warnings->push_back(std::string(name) + "=" + value);
}

TEST(RuntimeOptionsTest, ReadOptionsAppliesGoodValuesAndWarnsOfBadOnes) {
  std::map<std::string, std::string> env = {
      {"RUSTY_MALLOC_PURGE_DELAY_MS", "20"},
      {"RUSTY_MALLOC_RETAIN_MAX", "lots"},
      {"RUSTY_MALLOC_STATS", "json"},
      {"RUSTY_MALLOC_VERBOSE", "1"},
      {"RUSTY_MALLOC_ON_MISUSE", "trace"},
      {"RUSTY_MALLOC_UNRELATED", "x"},
  };
  std::vector<std::string> seen;
  fake_env = &env;
  warnings = &seen;
  Tunables tunables;
  const std::size_t retained = tunables.retained_bytes_max.load();
  const DropInOptions options =
      ReadOptions(FakeGetenv, RecordWarning, tunables);
  EXPECT_EQ(tunables.purge_delay_ns.load(), 20'000'000);
  EXPECT_EQ(tunables.retained_bytes_max.load(), retained);
  EXPECT_TRUE(tunables.verbose.load());
  EXPECT_EQ(tunables.misuse_action.load(), MisuseAction::kAbortWithStackTrace);
  EXPECT_EQ(options.stats_at_exit, StatsFormat::kJson);
  EXPECT_EQ(seen, std::vector<std::string>{"RUSTY_MALLOC_RETAIN_MAX=lots"});
}

TEST(RuntimeOptionsTest, NoEnvironmentKeepsTheDefaults) {
  std::map<std::string, std::string> env;
  std::vector<std::string> seen;
  fake_env = &env;
  warnings = &seen;
  Tunables tunables;
  const DropInOptions options =
      ReadOptions(FakeGetenv, RecordWarning, tunables);
  EXPECT_EQ(tunables.purge_delay_ns.load(), kDefaultPurgeDelayNs);
  EXPECT_EQ(tunables.retained_bytes_max.load(), std::size_t{256} << 20);
  EXPECT_FALSE(tunables.verbose.load());
  EXPECT_EQ(tunables.misuse_action.load(), MisuseAction::kAbort);
  EXPECT_EQ(options.stats_at_exit, StatsFormat::kNone);
  EXPECT_TRUE(seen.empty());
}

TEST(MalloptTest, TrimThresholdIsTheRetainedBound) {
  Tunables tunables;
  EXPECT_TRUE(ApplyMallopt(M_TRIM_THRESHOLD, 1 << 20, tunables));
  EXPECT_EQ(tunables.retained_bytes_max.load(), 1u << 20);
  EXPECT_TRUE(ApplyMallopt(M_TRIM_THRESHOLD, -1, tunables));
  EXPECT_EQ(tunables.retained_bytes_max.load(), SIZE_MAX);
}

TEST(MalloptTest, OnlyAbortingCheckActionsAreAccepted) {
  Tunables tunables;
  EXPECT_TRUE(ApplyMallopt(M_CHECK_ACTION, 2, tunables));
  EXPECT_TRUE(ApplyMallopt(M_CHECK_ACTION, 3, tunables));
  EXPECT_FALSE(ApplyMallopt(M_CHECK_ACTION, 1, tunables));
}

TEST(MalloptTest, ParametersWithoutACounterpartAreRefused) {
  Tunables tunables;
  for (int param : {M_MXFAST, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX,
                    M_PERTURB, M_ARENA_TEST, M_ARENA_MAX, 999}) {
    EXPECT_FALSE(ApplyMallopt(param, 1, tunables)) << param;
  }
}

TEST(StatsFormatTest, MallinfoSaturatesInsteadOfWrapping) {
  HeapStats stats;
  stats.heap_bytes = std::size_t{5} << 30;
  stats.allocated_bytes = std::size_t{3} << 30;
  stats.free_bytes = 1000;
  stats.free_blocks = 7;
  const struct mallinfo2 wide = ToMallinfo2(stats);
  EXPECT_EQ(wide.arena, stats.heap_bytes);
  EXPECT_EQ(wide.uordblks, stats.allocated_bytes);
  EXPECT_EQ(wide.fordblks, 1000u);
  EXPECT_EQ(wide.ordblks, 7u);
  const struct mallinfo narrow = ToMallinfo(wide);
  EXPECT_EQ(narrow.arena, INT_MAX);
  EXPECT_EQ(narrow.uordblks, INT_MAX);
  EXPECT_EQ(narrow.fordblks, 1000);
  EXPECT_EQ(narrow.ordblks, 7);
}

TEST(StatsFormatTest, JsonHasEveryFigure) {
  HeapStats stats;
  stats.heap_bytes = 4096;
  stats.resident_bytes = 123;
  char text[640];
  const int n = FormatStatsJson(stats, text, sizeof(text));
  ASSERT_GT(n, 0);
  ASSERT_LT(n, static_cast<int>(sizeof(text)));
  const std::string json(text);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.substr(json.size() - 2), "}\n");
  EXPECT_NE(json.find("\"heap_bytes\": 4096,"), std::string::npos);
  EXPECT_NE(json.find("\"resident_bytes\": 123}"), std::string::npos);
}

TEST(StatsFormatTest, SamplerLineAndJson) {
  SamplerStats stats;
  stats.samples = 40;
  stats.guarded = 10;
  stats.spent_ns = 2'500'000;
  char text[256];
  ASSERT_GT(FormatSamplerStatsText(stats, 1'000'000'000, text, sizeof(text)),
            0);
  EXPECT_EQ(std::string(text),
            "rusty_malloc sampler: 40 samples (10 guarded) took 2.500 ms, "
            "0.250% of the process's CPU time\n");
  ASSERT_GT(FormatSamplerStatsText(stats, 0, text, sizeof(text)), 0);
  EXPECT_NE(std::string(text).find("0.000% of"), std::string::npos);
  ASSERT_GT(FormatSamplerStatsJson(stats, 7, text, sizeof(text)), 0);
  EXPECT_EQ(std::string(text),
            "{\"sampler\": \"rusty_malloc\", \"samples\": 40, "
            "\"guarded\": 10, \"spent_ns\": 2500000, "
            "\"process_cpu_ns\": 7}\n");
}

TEST(StatsFormatTest, GlibcMallocStatsLayout) {
  HeapStats stats;
  stats.heap_bytes = 135168;
  stats.allocated_bytes = 1296;
  char text[512];
  ASSERT_GT(FormatGlibcMallocStats(stats, text, sizeof(text)), 0);
  EXPECT_EQ(std::string(text),
            "Arena 0:\n"
            "system bytes     =     135168\n"
            "in use bytes     =       1296\n"
            "Total (incl. mmap):\n"
            "system bytes     =     135168\n"
            "in use bytes     =       1296\n"
            "max mmap regions =          0\n"
            "max mmap bytes   =          0\n");
}

}  // namespace
}  // namespace rusty_malloc

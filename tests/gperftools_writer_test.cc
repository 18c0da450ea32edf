#include "allocator/profile/gperftools_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "allocator/profile/heap_profile.h"
#include "allocator/profile/sample_weight.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

// google-pprof's own patterns (ReadHeapProfile): the header, and a stack's
// line once leading and trailing blanks are trimmed.
const std::regex kHeader(
    R"(^heap profile:\s*(\d+):\s+(\d+)\s+\[\s*(\d+):\s+(\d+)\](\s*@\s*([^/]*)(/(\d+))?)?)");
const std::regex kLine(
    R"(^\s*(\d+):\s+(\d+)\s+\[\s*(\d+):\s+(\d+)\]\s+@\s+(.*)$)");
// A line of /proc/self/maps as pprof's ParseLibraries reads one.
const std::regex kMapsLine(
    R"(^[a-f0-9]+-[a-f0-9]+\s+[-r][-w][-x][ps]\s+[a-f0-9]+\s+\S+:\S+\s+\d+.*$)");

struct Line {
  std::uint64_t figures[4];
  std::vector<std::uintptr_t> pcs;
};

struct Parsed {
  std::uint64_t header[4] = {};
  std::string type;
  std::vector<Line> lines;
  bool blank_before_maps = false;
  std::vector<std::string> maps;
};

std::string Written(const HeapProfile& profile, ProfileView view) {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/profile.heap";
  EXPECT_TRUE(WriteHeapProfileToPath(path.c_str(), profile, view));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Parsed Parse(const std::string& text) {
  Parsed parsed;
  std::istringstream in(text);
  std::string line;
  std::smatch match;
  EXPECT_TRUE(std::getline(in, line));
  EXPECT_TRUE(std::regex_search(line, match, kHeader)) << line;
  if (match.empty()) return parsed;
  for (int i = 0; i < 4; ++i) parsed.header[i] = std::stoull(match[i + 1]);
  parsed.type = match[6];
  std::string previous;
  while (std::getline(in, line)) {
    if (line == "MAPPED_LIBRARIES:") {
      parsed.blank_before_maps = previous.empty();
      while (std::getline(in, line)) parsed.maps.push_back(line);
      break;
    }
    previous = line;
    if (line.empty()) continue;
    EXPECT_TRUE(std::regex_match(line, match, kLine)) << line;
    if (match.empty()) continue;
    Line parsed_line;
    for (int i = 0; i < 4; ++i) {
      parsed_line.figures[i] = std::stoull(match[i + 1]);
    }
    std::istringstream pcs(match[5]);
    std::string pc;
    while (pcs >> pc) {
      EXPECT_EQ(pc.substr(0, 2), "0x") << line;
      parsed_line.pcs.push_back(std::stoull(pc, nullptr, 16));
    }
    parsed.lines.push_back(parsed_line);
  }
  return parsed;
}

const std::uintptr_t kStackA[] = {0x401234, 0x402345, 0x403456};
const std::uintptr_t kStackB[] = {0x501234, 0x502345};

void* Address(std::uintptr_t a) { return reinterpret_cast<void*>(a); }

TEST(GperftoolsWriterTest, AnEmptyProfileHasAHeaderAndTheMaps) {
  HeapProfile profile;
  const Parsed parsed = Parse(Written(profile, ProfileView::kLive));
  EXPECT_EQ(parsed.type, "heapprofile");
  for (const std::uint64_t figure : parsed.header) EXPECT_EQ(figure, 0u);
  EXPECT_TRUE(parsed.lines.empty());
  EXPECT_TRUE(parsed.blank_before_maps);
  ASSERT_FALSE(parsed.maps.empty());
  for (const std::string& line : parsed.maps) {
    if (line.empty()) continue;
    EXPECT_TRUE(std::regex_match(line, kMapsLine)) << line;
  }
}

TEST(GperftoolsWriterTest, LinesHoldEachStackAndTheHeaderTheirSums) {
  HeapProfile profile;
  profile.Record(Address(0x1000), 100, 0, kStackA, 3);
  profile.Record(Address(0x2000), 300, 0, kStackA, 3);
  profile.Record(Address(0x3000), 40, 0, kStackB, 2);
  ASSERT_TRUE(profile.Remove(Address(0x1000)));
  const Parsed parsed = Parse(Written(profile, ProfileView::kLive));
  ASSERT_EQ(parsed.lines.size(), 2u);
  const Line& a = parsed.lines[0];
  const Line& b = parsed.lines[1];
  EXPECT_EQ(a.figures[0], 1u);
  EXPECT_EQ(a.figures[1], 300u);
  EXPECT_EQ(a.figures[2], 2u);
  EXPECT_EQ(a.figures[3], 400u);
  EXPECT_EQ(b.figures[1], 40u);
  // The first address moved back into its call; pprof moves the rest.
  EXPECT_EQ(a.pcs, (std::vector<std::uintptr_t>{kStackA[0] - 1, kStackA[1],
                                                kStackA[2]}));
  EXPECT_EQ(b.pcs, (std::vector<std::uintptr_t>{kStackB[0] - 1, kStackB[1]}));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(parsed.header[i], a.figures[i] + b.figures[i]) << i;
  }
  EXPECT_TRUE(parsed.blank_before_maps);
  EXPECT_FALSE(parsed.maps.empty());
}

TEST(GperftoolsWriterTest, FiguresAreTheRoundedEstimates) {
  HeapProfile profile;
  constexpr double kInterval = 512 * 1024;
  profile.Record(Address(0x1000), 4096, kInterval, kStackA, 3);
  profile.Record(Address(0x2000), 4096, kInterval, kStackA, 3);
  profile.Record(Address(0x3000), 1000, kInterval, kStackB, 2);
  const SampleWeight a = WeighSample(4096, kInterval);
  const SampleWeight b = WeighSample(1000, kInterval);
  const Parsed parsed = Parse(Written(profile, ProfileView::kLive));
  ASSERT_EQ(parsed.lines.size(), 2u);
  EXPECT_EQ(parsed.lines[0].figures[0],
            static_cast<std::uint64_t>(2 * a.count + 0.5));
  EXPECT_EQ(parsed.lines[0].figures[1],
            static_cast<std::uint64_t>(2 * a.bytes + 0.5));
  EXPECT_EQ(parsed.lines[1].figures[1],
            static_cast<std::uint64_t>(b.bytes + 0.5));
  std::uint64_t sums[4] = {};
  for (const Line& line : parsed.lines) {
    for (int i = 0; i < 4; ++i) sums[i] += line.figures[i];
  }
  for (int i = 0; i < 4; ++i) EXPECT_EQ(parsed.header[i], sums[i]) << i;
}

TEST(GperftoolsWriterTest, ThePeakViewHoldsTheLiveHeapAtItsLargest) {
  HeapProfile profile;
  profile.Record(Address(0x1000), 100, 0, kStackA, 3);
  profile.Record(Address(0x2000), 50, 0, kStackB, 2);  // Peak: 150.
  ASSERT_TRUE(profile.Remove(Address(0x1000)));
  ASSERT_TRUE(profile.Remove(Address(0x2000)));
  profile.Record(Address(0x3000), 60, 0, kStackB, 2);  // 60: below it.
  const Parsed peak = Parse(Written(profile, ProfileView::kPeak));
  ASSERT_EQ(peak.lines.size(), 2u);
  EXPECT_EQ(peak.lines[0].figures[1], 100u);
  EXPECT_EQ(peak.lines[1].figures[1], 50u);
  EXPECT_EQ(peak.header[0], 2u);
  EXPECT_EQ(peak.header[1], 150u);
  // Allocated since the start, in either view.
  EXPECT_EQ(peak.header[3], 210u);
  const Parsed live = Parse(Written(profile, ProfileView::kLive));
  ASSERT_EQ(live.lines.size(), 2u);
  EXPECT_EQ(live.lines[0].figures[1], 0u);
  EXPECT_EQ(live.lines[1].figures[1], 60u);
  EXPECT_EQ(live.header[1], 60u);
  EXPECT_EQ(live.header[3], 210u);
}

TEST(GperftoolsWriterTest, AStackWithNoFramesIsAddressZero) {
  HeapProfile profile;
  profile.Record(Address(0x1000), 8, 0, nullptr, 0);
  const Parsed parsed = Parse(Written(profile, ProfileView::kLive));
  ASSERT_EQ(parsed.lines.size(), 1u);
  EXPECT_EQ(parsed.lines[0].pcs, (std::vector<std::uintptr_t>{0}));
}

TEST(GperftoolsWriterTest, FailuresAreReported) {
  HeapProfile profile;
  errno = 0;
  EXPECT_FALSE(WriteHeapProfileToPath("/nonexistent/dir/profile.heap", profile,
                                      ProfileView::kLive));
  EXPECT_EQ(errno, ENOENT);
  // A file opened for reading refuses writes.
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_FALSE(WriteHeapProfile(fd, profile, ProfileView::kLive));
  EXPECT_EQ(errno, EBADF);
  close(fd);
}

// For a signal handler: nothing opened while the profile is in use (here
// by this very thread, as when the signal interrupts a sample's
// bookkeeping), the same file as WriteHeapProfileToPath once it is not.
TEST(GperftoolsWriterTest, IfIdleWritesOnlyWhenNoThreadHoldsTheProfile) {
  HeapProfile profile;
  const std::uintptr_t pcs[] = {0x1234, 0x5678};
  int block;
  profile.Record(&block, 100, 1000.0, pcs, 2);
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/if_idle.heap";
  unlink(path.c_str());
  IdleWrite busy = IdleWrite::kWritten;
  profile.Visit([&](const StackTable&) {
    busy =
        WriteHeapProfileToPathIfIdle(path.c_str(), profile, ProfileView::kLive);
  });
  EXPECT_EQ(busy, IdleWrite::kBusy);
  EXPECT_NE(access(path.c_str(), F_OK), 0);
  EXPECT_EQ(
      WriteHeapProfileToPathIfIdle(path.c_str(), profile, ProfileView::kLive),
      IdleWrite::kWritten);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  // The stacks alike; the maps may not be (the test's own allocations
  // between the two writes map memory, under ASan especially).
  auto stacks = [](const std::string& profile_text) {
    return profile_text.substr(0, profile_text.find("MAPPED_LIBRARIES:"));
  };
  EXPECT_EQ(stacks(text.str()), stacks(Written(profile, ProfileView::kLive)));
  EXPECT_NE(text.str().find("MAPPED_LIBRARIES:"), std::string::npos);
  EXPECT_EQ(WriteHeapProfileToPathIfIdle("/nonexistent/dir/profile.heap",
                                         profile, ProfileView::kLive),
            IdleWrite::kFailed);
}

}  // namespace
}  // namespace rusty_malloc

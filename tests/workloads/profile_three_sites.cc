// Three call sites allocate known amounts through a simulated sampling
// malloc, and the sampled heap profile is written for google-pprof, which
// tests/profile_three_sites_test.sh runs on it: each site's estimate must
// come out near what it allocated.
//
// The blocks are made-up addresses (the profile never touches a block), so
// the amounts cost no memory and can be large enough for a tight check.
// The sampler is tcmalloc's: points in the stream of allocated bytes at
// exponentially distributed distances, mean 512 KiB, from a seeded
// generator, so every run samples the same blocks.
//
// Usage: profile_three_sites OUT_DIR. Writes OUT_DIR/live.heap with every
// block live, then frees site B's blocks and writes OUT_DIR/freed.heap
// (live) and OUT_DIR/peak.heap; prints each site's truth and estimate.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

#include "absl/base/attributes.h"
#include "allocator/common/stack_trace.h"
#include "allocator/profile/gperftools_writer.h"
#include "allocator/profile/heap_profile.h"
#include "allocator/profile/sample_weight.h"
#include "allocator/profile/stack_table.h"

namespace three_sites {

using rusty_malloc::HeapProfile;

constexpr double kInterval = 512 * 1024;
constexpr std::uint64_t kSeed = 20240611;
constexpr std::size_t kMiB = 1 << 20;

// What a site allocated, and what the samples of it add up to.
struct Site {
  const char* name;
  std::size_t block_bytes;
  std::size_t blocks;
  std::uintptr_t first = 0;  // Its blocks' made-up addresses, in a row.
  std::size_t samples = 0;
  double estimate = 0;
};

// The sampler and the profile: what a sampling malloc holds.
struct SamplingMalloc {
  HeapProfile profile;
  std::mt19937_64 random{kSeed};
  double until_sample = 0;
  std::uintptr_t next_address = std::uintptr_t{1} << 44;

  // The distance to the next sampling point. Drawn by inversion rather
  // than by std::exponential_distribution, whose algorithm each standard
  // library chooses: mt19937_64's sequence is the standard's own.
  double Distance() {
    const double uniform = static_cast<double>(random() >> 11) * 0x1p-53;
    return -std::log1p(-uniform) * kInterval;
  }
};

SamplingMalloc& Malloc() {
  static SamplingMalloc sampler;
  return sampler;
}

// Allocates `bytes` for `site` (an address only). When a sampling point
// falls in its bytes it is sampled: its stack, from the caller on, goes
// into the profile, as a sampling malloc's would.
ABSL_ATTRIBUTE_NOINLINE std::uintptr_t SampledMalloc(std::size_t bytes,
                                                     Site& site) {
  SamplingMalloc& sampler = Malloc();
  const std::uintptr_t block = sampler.next_address;
  sampler.next_address += bytes;
  sampler.until_sample -= static_cast<double>(bytes);
  if (sampler.until_sample > 0) return block;
  // The next point counts from here: the exponential has no memory.
  sampler.until_sample = sampler.Distance();
  std::uintptr_t pcs[rusty_malloc::StackTable::kMaxFrames];
  const int depth =
      rusty_malloc::CaptureStack(pcs, rusty_malloc::StackTable::kMaxFrames, 1);
  sampler.profile.Record(reinterpret_cast<void*>(block), bytes, kInterval, pcs,
                         depth);
  ++site.samples;
  site.estimate += rusty_malloc::WeighSample(bytes, kInterval).bytes;
  return block;
}

// The three sites: 400 MiB in 4 KiB blocks, 200 MiB in 64 KiB blocks and
// 100 MiB in 1 KiB blocks.
constexpr std::size_t kBlockA = 4096;
constexpr std::size_t kBlocksA = 400 * kMiB / kBlockA;
constexpr std::size_t kBlockB = 65536;
constexpr std::size_t kBlocksB = 200 * kMiB / kBlockB;
constexpr std::size_t kBlockC = 1024;
constexpr std::size_t kBlocksC = 100 * kMiB / kBlockC;

ABSL_ATTRIBUTE_NOINLINE void AllocateFromSiteA(Site& site) {
  site.first = SampledMalloc(kBlockA, site);
  for (std::size_t i = 1; i < kBlocksA; ++i) SampledMalloc(kBlockA, site);
}

ABSL_ATTRIBUTE_NOINLINE void AllocateFromSiteB(Site& site) {
  site.first = SampledMalloc(kBlockB, site);
  for (std::size_t i = 1; i < kBlocksB; ++i) SampledMalloc(kBlockB, site);
}

ABSL_ATTRIBUTE_NOINLINE void AllocateFromSiteC(Site& site) {
  site.first = SampledMalloc(kBlockC, site);
  for (std::size_t i = 1; i < kBlocksC; ++i) SampledMalloc(kBlockC, site);
}

void Free(const Site& site) {
  for (std::size_t i = 0; i < site.blocks; ++i) {
    Malloc().profile.Remove(
        reinterpret_cast<void*>(site.first + i * site.block_bytes));
  }
}

bool Write(const std::string& path, rusty_malloc::ProfileView view) {
  if (rusty_malloc::WriteHeapProfileToPath(path.c_str(), Malloc().profile,
                                           view)) {
    return true;
  }
  std::perror(path.c_str());
  return false;
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  Malloc().until_sample = Malloc().Distance();
  Site sites[] = {{"AllocateFromSiteA", kBlockA, kBlocksA},
                  {"AllocateFromSiteB", kBlockB, kBlocksB},
                  {"AllocateFromSiteC", kBlockC, kBlocksC}};
  AllocateFromSiteA(sites[0]);
  AllocateFromSiteB(sites[1]);
  AllocateFromSiteC(sites[2]);
  // The relative standard error of an estimate from n blocks of s bytes,
  // each sampled with probability p: sqrt((1 - p) / (n p)).
  std::printf("%-18s %6s %7s %10s %8s %10s %7s %7s\n", "site", "block",
              "blocks", "truth", "samples", "estimate", "error", "stderr");
  for (const Site& site : sites) {
    const double truth = static_cast<double>(site.block_bytes * site.blocks);
    const double p =
        rusty_malloc::SampleProbability(site.block_bytes, kInterval);
    const double error =
        std::sqrt((1 - p) / (static_cast<double>(site.blocks) * p));
    std::printf("%-18s %6zu %7zu %10.0f %8zu %10.0f %+6.1f%% %6.1f%%\n",
                site.name, site.block_bytes, site.blocks, truth, site.samples,
                site.estimate, 100 * (site.estimate / truth - 1), 100 * error);
  }
  if (!Write(out + "/live.heap", rusty_malloc::ProfileView::kLive)) return 1;
  Free(sites[1]);
  if (!Write(out + "/freed.heap", rusty_malloc::ProfileView::kLive)) return 1;
  if (!Write(out + "/peak.heap", rusty_malloc::ProfileView::kPeak)) return 1;
  return 0;
}

}  // namespace three_sites

int main(int argc, char** argv) { return three_sites::Main(argc, argv); }

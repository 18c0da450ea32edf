// Large blocks: the table of live mappings against std::map (keys from a
// small range, so probe runs collide, wrap and shift on every erase), then
// a LargeHeap with fuzzed cache bounds and purge delay against a model of its
// live blocks: usable sizes, contents (sampled words: each block is
// megabytes), blocks reported zeroed really being zero, realloc keeping
// contents, freed and foreign pointers refused, Verify() and Stats().

#include "testing/no_coverage.h"
RUSTY_MALLOC_NO_COVERAGE_BEGIN
#include <map>
RUSTY_MALLOC_NO_COVERAGE_END

#include <cstddef>
#include <cstdint>
#include <vector>

#include "allocator/large/large_heap.h"
#include "allocator/large/mapping_table.h"
#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing {
namespace {

constexpr std::size_t kPage = LargeHeap::kOsPage;

RUSTY_MALLOC_NO_COVERAGE_BEGIN  // The models are not what is fuzzed.

void TableAgainstAMap(FuzzInput& in) {
  MappingTable table;
  std::map<std::uintptr_t, std::size_t> model;
  const int ops = 16 * (1 + in.Byte());
  for (int i = 0; i < ops && !in.empty(); ++i) {
    // A burst of inserts from one byte, so the table fills and grows.
    const std::uint8_t op = in.Byte();
    const std::uintptr_t key = (1 + in.Uint16() % 1024) * kPage;
    if (op % 4 == 0) {
      for (std::uintptr_t k = key; k < key + (op / 4) * kPage; k += kPage) {
        if (model.count(k) != 0) continue;
        if (!table.Insert(k, k / 16)) Require("table refused an insert");
        model[k] = k / 16;
      }
    } else if (op % 4 == 1) {
      const auto it = model.find(key);
      if (table.Erase(key) != (it == model.end() ? 0 : it->second)) {
        Require("Erase disagrees with the model");
      }
      if (it != model.end()) model.erase(it);
    } else if (op % 4 == 2) {
      // Erase a run of neighbours: the shifts that follow each other.
      for (auto it = model.lower_bound(key);
           it != model.end() && it->first < key + (op / 4) * kPage;) {
        if (table.Erase(it->first) != it->second) Require("Erase lost a key");
        it = model.erase(it);
      }
    }
    if (table.size() != model.size()) Require("table size disagrees");
    for (const auto& [begin, bytes] : model) {
      if (table.Find(begin) != bytes) Require("a recorded mapping is lost");
    }
  }
}

struct Live {
  unsigned char* ptr;
  std::size_t size;
  std::uint8_t tag;
  std::size_t usable;  // What UsableSize said when it was made.
};

// The words the model writes: both ends and one every 64 KiB.
template <typename Visit>
void ForEachSample(const Live& block, Visit visit) {
  for (std::size_t at = 0; at < block.size; at += 64 << 10) visit(at);
  visit(block.size - 1);
}

void Fill(const Live& block) {
  ForEachSample(block, [&](std::size_t at) {
    block.ptr[at] = static_cast<unsigned char>(block.tag + at / 4096);
  });
}

bool Intact(const Live& block, std::size_t size) {
  bool ok = true;
  ForEachSample(block, [&](std::size_t at) {
    if (at < size &&
        block.ptr[at] != static_cast<unsigned char>(block.tag + at / 4096)) {
      ok = false;
    }
  });
  return ok;
}

// Its ends only: reading every sample of a fresh mapping would fault in
// each page twice (read, then the write of Fill), and a reused block always
// holds the previous one's pattern at its start.
bool Zero(const Live& block) {
  return block.ptr[0] == 0 && block.ptr[block.size - 1] == 0;
}

std::size_t BlockSize(FuzzInput& in) {
  const std::uint8_t shape = in.Byte();
  const std::size_t pages = 1 + in.Byte() % 64;
  return pages * kPage * (shape % 4 == 0 ? 16 : 1) - shape % 3 * 100;
}

// Verify() after every operation; Stats() when due, since it asks the
// kernel (mincore) about every mapping, live and kept: after every
// operation it cost more than the operations (600 syscalls per input).
// Due once the operations since the last Stats() reach a quarter of the
// live blocks, so a wrong count still shows within a few operations, and
// always when `now`.
class Checker {
 public:
  void Check(LargeHeap& heap, const std::vector<Live>& live, bool now) {
    if (!heap.Verify().ok()) Require("Verify failed");
    if (!now && ++unchecked_ * 4 < live.size()) return;
    unchecked_ = 0;
    const HeapStats stats = heap.Stats();
    if (stats.allocated_blocks != live.size()) {
      Require("Stats disagrees with the model's block count");
    }
    // Live mappings are exactly the blocks' usable sizes, and the figures
    // add up as heap_report.h says.
    std::size_t usable = 0;
    for (const Live& block : live) usable += block.usable;
    if (stats.allocated_bytes != usable) {
      Require("Stats' allocated bytes are not the blocks' usable sizes");
    }
    if (stats.heap_bytes != stats.allocated_bytes + stats.free_bytes ||
        stats.committed_bytes > stats.reserved_bytes ||
        stats.resident_bytes > stats.committed_bytes ||
        stats.largest_free_block > stats.free_bytes ||
        (stats.free_blocks == 0) != (stats.free_bytes == 0)) {
      Require("Stats' figures do not add up");
    }
  }

 private:
  std::size_t unchecked_ = 0;
};

void HeapAgainstAModel(FuzzInput& in) {
  const std::uint8_t b = in.Byte();
  LargeHeapOptions options;
  options.cache_bytes_max = std::size_t{4} << (18 + b % 8);
  options.cache_entry_max = std::size_t{1} << (16 + (b >> 3) % 8);
  options.purge_delay_ns = b & 0x40 ? 0 : std::int64_t{1} << 62;
  LargeHeap heap(options);
  std::vector<Live> live;
  Checker checker;
  std::uint8_t tag = 0;
  for (int ops = 0; ops < 256 && !in.empty(); ++ops) {
    switch (in.Byte() % 6) {
      case 0:
      case 1: {
        const std::size_t size = BlockSize(in);
        bool zeroed = false;
        auto* p = static_cast<unsigned char*>(heap.Allocate(size, &zeroed));
        if (p == nullptr) Require("allocation refused");
        tag = static_cast<std::uint8_t>(tag % 255 + 1);  // Never 0.
        const Live block{p, size, tag, heap.UsableSize(p)};
        if (reinterpret_cast<std::uintptr_t>(p) % kPage != 0) {
          Require("block not page-aligned");
        }
        // Whole pages; a reused mapping up to kReuseWholeFactor times what
        // was asked.
        const std::size_t pages = (size + kPage - 1) / kPage * kPage;
        const std::size_t usable = block.usable;
        if (usable < pages || usable > LargeHeap::kReuseWholeFactor * pages ||
            usable % kPage != 0) {
          Require("usable size is not whole pages of about the size");
        }
        if (zeroed && !Zero(block)) Require("a block reported zeroed is not");
        Fill(block);
        live.push_back(block);
        break;
      }
      case 2: {
        if (live.empty()) break;
        const std::size_t i = in.Byte() % live.size();
        if (!Intact(live[i], live[i].size))
          Require("block damaged before free");
        if (!heap.TryDeallocate(live[i].ptr)) Require("free refused");
        if (heap.TryDeallocate(live[i].ptr)) Require("double free accepted");
        live[i] = live.back();
        live.pop_back();
        break;
      }
      case 3: {
        if (live.empty()) break;
        Live& block = live[in.Byte() % live.size()];
        const std::size_t size = BlockSize(in);
        auto* p = static_cast<unsigned char*>(heap.Reallocate(block.ptr, size));
        if (p == nullptr) Require("realloc refused");
        const std::size_t kept = block.size < size ? block.size : size;
        block.ptr = p;
        if (!Intact(block, kept)) Require("realloc lost contents");
        block.size = size;
        block.usable = heap.UsableSize(p);
        if (block.usable < size) Require("realloc's block is too small");
        Fill(block);
        break;
      }
      case 4: {
        // Pointers that are not blocks: inside one, or just freed.
        if (live.empty()) break;
        const Live& block = live[in.Byte() % live.size()];
        if (block.size > kPage && heap.TryDeallocate(block.ptr + kPage)) {
          Require("an interior pointer was freed");
        }
        if (heap.UsableSize(block.ptr + 16) != 0) {
          Require("an interior pointer has a usable size");
        }
        break;
      }
      default:
        heap.ReleaseCached();
        if (heap.Stats().free_bytes != 0) Require("ReleaseCached kept some");
        break;
    }
    checker.Check(heap, live, /*now=*/false);
  }
  for (const Live& block : live) {
    if (!Intact(block, block.size)) Require("block damaged");
    if (!heap.TryDeallocate(block.ptr)) Require("free refused");
  }
  live.clear();
  checker.Check(heap, live, /*now=*/true);
}

RUSTY_MALLOC_NO_COVERAGE_END

}  // namespace

void FuzzOne(FuzzInput& in) {
  if (in.Byte() % 2 == 0) {
    TableAgainstAMap(in);
  } else {
    HeapAgainstAModel(in);
  }
}

}  // namespace rusty_malloc::fuzzing

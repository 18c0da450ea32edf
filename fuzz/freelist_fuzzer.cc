// Drives //allocator:freelist and //allocator:header alone, against models:
// inserts, removals and first-fit searches on a FreeList of blocks in an
// arena (model: the list order, and an independent fit computation), and
// splits, merges and free/occupied flips on a strip of adjacent blocks
// (model: their sizes and flags, checked through Next, Prev and footers).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/header.h"
#include "fuzz/fuzz_input.h"

namespace rusty_malloc::fuzzing {
namespace {

constexpr int kSlots = 32;
constexpr std::size_t kSlotBytes = 512;
constexpr std::size_t kStripBytes = 4096;

struct alignas(64) Arena {
  std::byte slots[kSlots * kSlotBytes + 64];
  std::byte strip[kStripBytes + 64];
};

Block* SlotBlock(Arena& arena, int slot) {
  return Block::At(arena.slots + kHeaderSize + slot * kSlotBytes);
}

// Written from the layout rules, not from PlaceAligned.
bool ModelFits(std::uintptr_t block, std::size_t block_size, std::size_t size,
               std::size_t align) {
  std::uintptr_t start = block;
  if ((block + kHeaderSize) % align != 0) {
    start = block + kMinBlockSize;
    while ((start + kHeaderSize) % align != 0) start += kGranule;
  }
  return start - block + size <= block_size;
}

class ListModel {
 public:
  explicit ListModel(Arena& arena) : arena_(arena) {}

  std::string Insert(int slot, std::size_t size) {
    if (std::find(order_.begin(), order_.end(), slot) != order_.end())
      return "";
    SlotBlock(arena_, slot)->WriteFree(size, false);
    sizes_[slot] = size;
    list_.Insert(SlotBlock(arena_, slot));
    order_.insert(order_.begin(), slot);
    return Check();
  }

  std::string Remove(std::size_t k) {
    if (order_.empty()) return "";
    k %= order_.size();
    list_.Remove(SlotBlock(arena_, order_[k]));
    order_.erase(order_.begin() + static_cast<std::ptrdiff_t>(k));
    return Check();
  }

  std::string Find(std::size_t size, std::size_t align) {
    Block* expected = nullptr;
    for (int slot : order_) {
      Block* b = SlotBlock(arena_, slot);
      if (ModelFits(reinterpret_cast<std::uintptr_t>(b), sizes_[slot], size,
                    align)) {
        expected = b;
        break;
      }
    }
    if (list_.FindFit(size, align) != expected)
      return "FindFit is not first fit";
    return "";
  }

 private:
  std::string Check() {
    const HeapReport report = list_.CheckLinks(order_.size(), [this](Block* b) {
      for (int slot : order_) {
        if (SlotBlock(arena_, slot) == b) return b->IsFree();
      }
      return false;
    });
    if (!report.ok()) return "CheckLinks: " + report.ToString();
    Block* node = list_.Front();
    for (int slot : order_) {
      if (node != SlotBlock(arena_, slot)) return "list order is not LIFO";
      node = FreeList::NextOf(node);
    }
    if (node != nullptr) return "list longer than the model";
    return "";
  }

  Arena& arena_;
  FreeList list_;
  std::vector<int> order_;
  std::size_t sizes_[kSlots] = {};
};

// A strip of adjacent blocks, as in a heap, ending at a zero-size marker.
class StripModel {
 public:
  explicit StripModel(Arena& arena)
      : base_(arena.strip + kHeaderSize), blocks_{{kStripBytes - 64, false}} {
    Rewrite();
  }

  std::string Split(std::size_t k, std::size_t at) {
    k %= blocks_.size();
    const std::size_t size = blocks_[k].size;
    if (size < 2 * kMinBlockSize) return "";
    const std::size_t first =
        kMinBlockSize +
        at % ((size - 2 * kMinBlockSize) / kGranule + 1) * kGranule;
    blocks_[k].size = first;
    blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(k) + 1,
                   {size - first, blocks_[k].free});
    Rewrite();
    return Check();
  }

  std::string Merge(std::size_t k) {
    if (blocks_.size() < 2) return "";
    k %= blocks_.size() - 1;
    blocks_[k].size += blocks_[k + 1].size;
    blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(k) + 1);
    Rewrite();
    return Check();
  }

  std::string Flip(std::size_t k) {
    k %= blocks_.size();
    blocks_[k].free = !blocks_[k].free;
    Rewrite();
    return Check();
  }

 private:
  struct Entry {
    std::size_t size;
    bool free;
  };

  void Rewrite() {
    Block* b = Block::At(base_);
    bool prev_free = false;
    for (const Entry& e : blocks_) {
      if (e.free) {
        b->WriteFree(e.size, prev_free);
      } else {
        b->WriteOccupied(e.size, prev_free);
      }
      prev_free = e.free;
      b = b->Next();
    }
    b->WriteOccupied(0, prev_free);
  }

  std::string Check() {
    Block* b = Block::At(base_);
    Block* prev = nullptr;
    for (const Entry& e : blocks_) {
      if (!b->HasValidTag()) return "strip: bad tag";
      if (b->Size() != e.size || b->IsFree() != e.free) return "strip: header";
      if (prev != nullptr && prev->IsFree() != b->IsPrevFree()) {
        return "strip: prev-free bit";
      }
      if (b->IsPrevFree() && b->Prev() != prev) return "strip: Prev()";
      if (e.free && b->Footer() != e.size) return "strip: footer";
      prev = b;
      b = b->Next();
    }
    if (b->Size() != 0 || b->IsPrevFree() != blocks_.back().free) {
      return "strip: end marker";
    }
    if (b->IsPrevFree() && b->Prev() != prev) return "strip: end Prev()";
    return "";
  }

  std::byte* base_;
  std::vector<Entry> blocks_;
};

}  // namespace

void FuzzOne(FuzzInput& in) {
  static Arena arena;
  ListModel list(arena);
  StripModel strip(arena);
  for (int ops = 0; ops < 4096 && !in.empty(); ++ops) {
    switch (in.Byte() % 6) {
      case 0:
        Require(list.Insert(in.Byte() % kSlots,
                            kMinBlockSize + in.Byte() % 31 * kGranule));
        break;
      case 1:
        Require(list.Remove(in.Byte()));
        break;
      case 2:
        Require(list.Find(kMinBlockSize + in.Byte() % 40 * kGranule,
                          std::size_t{16} << (in.Byte() % 6)));
        break;
      case 3:
        Require(strip.Split(in.Byte(), in.Byte()));
        break;
      case 4:
        Require(strip.Merge(in.Byte()));
        break;
      default:
        Require(strip.Flip(in.Byte()));
        break;
    }
  }
}

}  // namespace rusty_malloc::fuzzing

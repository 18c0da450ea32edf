#include "allocator/guarded/guarded_pool.h"

#include <cstdlib>

#include "absl/base/attributes.h"
#include "allocator/common/check.h"
#include "allocator/common/log_line.h"
#include "allocator/common/os_memory.h"

namespace rusty_malloc {
namespace {

// A free the pool cannot carry out: the line ReportMisuse writes, then the
// block's stacks and the free's, then abort.
[[noreturn]] ABSL_ATTRIBUTE_COLD ABSL_ATTRIBUTE_NOINLINE void ReportBadFree(
    const char* what, const void* p, const GuardedSlot& slot,
    const GuardedTrace& now) {
  LogLine("%s: 0x%016zx", what, reinterpret_cast<std::size_t>(p));
  if (slot.view.state != SlotState::kUnused) {
    LogLine("the %zu-byte block at 0x%zx was", slot.view.size,
            static_cast<std::size_t>(slot.view.block));
    WriteGuardedTrace("allocated", slot.allocated);
    if (slot.view.state == SlotState::kFreed) {
      WriteGuardedTrace("freed", slot.freed);
    }
  }
  WriteGuardedTrace("and is now freed", now);
  std::abort();
}

}  // namespace

GuardedPool::~GuardedPool() {
  SpinLockHolder hold(&lock_);
  if (layout_.base == 0) return;
  begin_.store(0, std::memory_order_relaxed);
  end_.store(0, std::memory_order_relaxed);
  Unmap(reinterpret_cast<void*>(layout_.base), layout_.bytes());
  Unmap(records_, MetadataBytes());
}

std::size_t GuardedPool::MetadataBytes() const {
  const std::size_t bytes =
      slots_ * (sizeof(GuardedSlot) + sizeof(std::size_t));
  const std::size_t page = OsPageSize();
  return (bytes + page - 1) / page * page;
}

bool GuardedPool::Init() {
  if (failed_) return false;
  GuardedLayout layout{.base = 0, .page = OsPageSize(), .slots = slots_};
  void* range = Reserve(layout.bytes());
  void* metadata = range == nullptr ? nullptr : Map(MetadataBytes());
  if (metadata == nullptr) {
    if (range != nullptr) Unmap(range, layout.bytes());
    failed_ = true;
    return false;
  }
  layout.base = reinterpret_cast<std::uintptr_t>(range);
  layout_ = layout;
  // A fresh mapping reads as zero: every record kUnused.
  records_ = static_cast<GuardedSlot*>(metadata);
  freed_ = reinterpret_cast<std::size_t*>(records_ + slots_);
  begin_.store(layout.base, std::memory_order_relaxed);
  end_.store(layout.base + layout.bytes(), std::memory_order_relaxed);
  return true;
}

std::size_t GuardedPool::TakeSlot() {
  if (never_used_ < slots_) return never_used_++;
  if (freed_count_ == 0) return kNoSlot;
  const std::size_t slot = freed_[freed_head_];
  freed_head_ = (freed_head_ + 1) % slots_;
  --freed_count_;
  return slot;
}

void GuardedPool::QueueFreed(std::size_t slot) {
  freed_[(freed_head_ + freed_count_) % slots_] = slot;
  ++freed_count_;
}

void* GuardedPool::Allocate(std::size_t size, std::size_t align) {
  const std::size_t page = OsPageSize();
  if (size == 0 || size > page || align == 0 || (align & (align - 1)) != 0 ||
      align > page) {
    return nullptr;
  }
  // Unwound before taking the lock, which the other threads wait for.
  GuardedTrace trace;
  RecordGuardedTrace(&trace, 1);  // From the caller on.
  SpinLockHolder hold(&lock_);
  if (layout_.base == 0 && !Init()) return nullptr;
  const std::size_t slot = TakeSlot();
  if (slot == kNoSlot) return nullptr;
  const std::uintptr_t start = layout_.SlotStart(slot);
  if (!Commit(reinterpret_cast<void*>(start), page)) {
    QueueFreed(slot);  // Still free, at the back of the queue.
    return nullptr;
  }
  bool against_start = placement_ == GuardedPlacement::kAgainstStart;
  if (placement_ == GuardedPlacement::kAlternate) {
    against_start = allocations_ % 2 == 1;
  }
  ++allocations_;
  GuardedSlot& record = records_[slot];
  record.view.state = SlotState::kAllocated;
  record.view.block =
      against_start ? start : (start + page - size) & ~(align - 1);
  record.view.size = size;
  record.against_start = against_start;
  record.allocated = trace;
  return reinterpret_cast<void*>(record.view.block);
}

void GuardedPool::Deallocate(void* p) {
  RUSTY_MALLOC_CHECK(Contains(p), p);
  GuardedTrace trace;
  RecordGuardedTrace(&trace, 1);
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  GuardedSlot bad;
  const char* what = nullptr;
  {
    SpinLockHolder hold(&lock_);
    const std::size_t index = layout_.PageIndex(address);
    if (!GuardedLayout::IsSlotPage(index)) {
      what = "invalid free of a guarded block";  // In a guard page.
    } else {
      const std::size_t slot = GuardedLayout::SlotOfPage(index);
      GuardedSlot& record = records_[slot];
      if (record.view.state == SlotState::kAllocated &&
          record.view.block == address) {
        record.view.state = SlotState::kFreed;
        record.freed = trace;
        // Inaccessible, and its memory given back, in one call; should it
        // fail, the page stays readable and a use after free goes unseen.
        static_cast<void>(ReplaceWithReserved(
            reinterpret_cast<void*>(layout_.SlotStart(slot)), layout_.page));
        QueueFreed(slot);
        return;
      }
      what =
          record.view.state == SlotState::kFreed && record.view.block == address
              ? "double free of a guarded block"
              : "invalid free of a guarded block";
      bad = record;
    }
  }
  ReportBadFree(what, p, bad, trace);
}

HeapStats GuardedPool::Stats() const {
  HeapStats stats;
  SpinLockHolder hold(&lock_);
  if (records_ == nullptr) return stats;
  for (std::size_t slot = 0; slot < slots_; ++slot) {
    const SlotView& view = records_[slot].view;
    if (view.state != SlotState::kAllocated) continue;
    ++stats.allocated_blocks;
    stats.allocated_bytes += view.size;
    stats.heap_bytes += layout_.page;
  }
  stats.overhead_bytes = stats.heap_bytes - stats.allocated_bytes;
  stats.reserved_bytes = layout_.bytes() + MetadataBytes();
  stats.committed_bytes = stats.heap_bytes + MetadataBytes();
  return stats;
}

std::size_t GuardedPool::UsableSize(const void* p) const {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  SpinLockHolder hold(&lock_);
  if (!layout_.Contains(address)) return 0;
  const std::size_t index = layout_.PageIndex(address);
  if (!GuardedLayout::IsSlotPage(index)) return 0;
  const SlotView& view = records_[GuardedLayout::SlotOfPage(index)].view;
  return view.state == SlotState::kAllocated && view.block == address
             ? view.size
             : 0;
}

GuardedFault GuardedPool::ClassifyLocked(std::uintptr_t address) const {
  // The lambda runs under this function's lock, which the analysis cannot
  // see inside it.
  const GuardedSlot* const records = records_;
  return ClassifyFault(layout_, address, [records](std::size_t slot) {
    return records[slot].view;
  });
}

GuardedFault GuardedPool::Classify(const void* address) const {
  SpinLockHolder hold(&lock_);
  return ClassifyLocked(reinterpret_cast<std::uintptr_t>(address));
}

void GuardedPool::DescribeFault(const void* address, GuardedFault* fault,
                                GuardedSlot* record) const
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  bool locked = false;
  for (int i = 0; i < 1000 && !locked; ++i) locked = lock_.TryLock();
  *fault = ClassifyLocked(reinterpret_cast<std::uintptr_t>(address));
  if (fault->slot != kNoSlot) *record = records_[fault->slot];
  if (locked) lock_.Unlock();
}

GuardedLayout GuardedPool::layout() const {
  SpinLockHolder hold(&lock_);
  return layout_;
}

}  // namespace rusty_malloc

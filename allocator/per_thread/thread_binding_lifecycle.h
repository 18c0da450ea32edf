#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_LIFECYCLE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_LIFECYCLE_H_

// A ThreadBinding's work for one thread: binding it to a heap (adopted or
// new), lending a heap for one call, and abandoning the heap at the
// thread's exit.
// Included by thread_binding.h only.
#include "allocator/per_thread/thread_binding.h"

namespace rusty_malloc {

template <ChunkSource S>
ThreadHeap<S>* ThreadBinding<S>::MyHeapSlow(S* source) {
  per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
  // A slot that never names this allocator (BypassFastPaths, or a thread
  // going back and forth between allocators): the thread's heap, without
  // the lock.
  if (id_.load(std::memory_order_acquire) != kUnbound) {
    if (auto* bound = static_cast<Heap*>(pthread_getspecific(key_))) {
      slot = {
          BoundId(),   bound, bound->tag(), 0, per_thread_internal::LinkKey(),
          slot.exiting};
      return bound;
    }
  }
  Heap* heap = nullptr;
  bool adopted = false;
  {
    SpinLockHolder hold(&lock_);
    if (id_.load(std::memory_order_relaxed) == kUnbound) {
      // pthread_key_create takes no memory from malloc in glibc.
      if (pthread_key_create(&key_, &AbandonAtThreadExit) != 0) {
        ReportMisuse("cannot create a thread key for the per-thread heaps",
                     this);
      }
      const std::uint64_t id =
          per_thread_internal::next_instance.fetch_add(1) + 1;
      chunk_id_.store(bypass_.load(std::memory_order_relaxed)
                          ? per_thread_internal::kUncachedId
                          : std::min(id, per_thread_internal::kUncachedId),
                      std::memory_order_relaxed);
      id_.store(id, std::memory_order_release);
    } else {
      heap = static_cast<Heap*>(pthread_getspecific(key_));
    }
    if (heap == nullptr) heap = AdoptOrMake(source, &adopted);
    if (heap == nullptr) return nullptr;
  }
  // Set the cache first: pthread_setspecific may itself call malloc. An
  // exiting thread stays marked so (another allocator's heap of it may be
  // bound here while this one's destructor has already run).
  slot = {BoundId(),   heap, heap->tag(), 0, per_thread_internal::LinkKey(),
          slot.exiting};
  pthread_setspecific(key_, heap);
  if (adopted) heap->TakeOver();
  return heap;
}

template <ChunkSource S>
ThreadHeap<S>* ThreadBinding<S>::LendHeap(S* source) {
  if (id_.load(std::memory_order_acquire) != kUnbound &&
      pthread_getspecific(key_) != nullptr) {
    return nullptr;
  }
  Heap* heap;
  bool adopted = false;
  {
    SpinLockHolder hold(&lock_);
    heap = AdoptOrMake(source, &adopted);
  }
  if (heap != nullptr && adopted) heap->TakeOver();
  return heap;
}

template <ChunkSource S>
void ThreadBinding<S>::GiveBack(Heap* heap) {
  const std::int64_t now = CoarseNowNs();
  SpinLockHolder hold(&lock_);
  Abandon(heap, now);
}

template <ChunkSource S>
ThreadHeap<S>* ThreadBinding<S>::NewHeap(S* source) {
  void* memory = mapper_(sizeof(Heap));
  if (memory == nullptr) return nullptr;
  Heap* heap = new (memory) Heap(source);
  heap->owner = this;
  heap->set_purge_others(&PurgeAbandoned);
  heap->set_reclaim_others(&ReclaimIdleHeaps);
  heap->set_budget(&budget_);
  heap->registry_next = heaps_;
  heaps_ = heap;
  budget_.set_heaps(++heap_count_);
  return heap;
}

template <ChunkSource S>
void ThreadBinding<S>::AbandonAtThreadExit(void* arg) {
  auto* heap = static_cast<Heap*>(arg);
  auto* self = static_cast<ThreadBinding*>(heap->owner);
  // No page walk here or on adoption: thread churn stays cheap. The next
  // owner's first growth, or ReleaseAbandoned, takes back what was freed,
  // and purges what waited (a purge here would also decommit every chunk
  // other threads released: an exit touches only its own heap's lists).
  const std::int64_t now = CoarseNowNs();
  if (!Planted(PlantedBug::kRemoteBatchKeptAtExit)) heap->FlushRemote();
  per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
  if (slot.heap == heap) slot = {};
  slot.exiting = true;
  SpinLockHolder hold(&self->lock_);
  self->Abandon(heap, now);
}

template <ChunkSource S>
ThreadBinding<S>::~ThreadBinding() {
  if (id_.load() == kUnbound) return;
  per_thread_internal::TlsSlot& slot = per_thread_internal::tls_slot;
  if (slot.instance == id_.load()) slot = {};
  pthread_setspecific(key_, nullptr);
  pthread_key_delete(key_);
  for (Heap* list : {heaps_, orphans_}) {
    for (Heap* heap = list; heap != nullptr;) {
      Heap* next = heap->registry_next;
      heap->~Heap();
      UnmapHeapMemory(heap, sizeof(Heap));
      heap = next;
    }
  }
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_LIFECYCLE_H_

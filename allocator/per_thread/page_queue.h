#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_QUEUE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_QUEUE_H_

#include <cstdint>

#include "allocator/common/check.h"
#include "allocator/per_thread/chunk.h"

namespace rusty_malloc {

namespace per_thread_internal {
// What an empty queue's front() returns: a page with no free block, so
// malloc's fast path needs no test for an empty queue. Never written.
extern PageInfo no_front_page;
}  // namespace per_thread_internal

// A doubly linked queue of pages, threaded through PageInfo::next and prev,
// so queueing costs no memory. A thread heap keeps one per size class; the
// page at the front serves allocations and carries kFrontBias in its
// `used` count (chunk.h). Not thread-safe: the owning thread's.
class PageQueue {
 public:
  // The front page, or nullptr when the queue is empty.
  PageInfo* head() const { return head_ == Empty() ? nullptr : head_; }
  // The front page, or a page with no free block when the queue is empty.
  PageInfo* front() const { return head_; }

  // `page` must be in this queue.
  void Unlink(PageInfo* page) {
    RUSTY_MALLOC_DCHECK(
        page == head_ || (page->prev != nullptr && page->prev->next == page),
        page);
    if (page == head_) {
      SetFront(page->next != nullptr ? page->next : Empty());
    } else {
      page->prev->next = page->next;
    }
    (page->next != nullptr ? page->next->prev : tail_) = page->prev;
    page->next = page->prev = nullptr;
  }

  // `page` must be in no queue.
  void PushFront(PageInfo* page) {
    RUSTY_MALLOC_DCHECK(
        page != head_ && page->prev == nullptr && page->next == nullptr, page);
    page->prev = nullptr;
    if (head_ == Empty()) {
      page->next = nullptr;
      tail_ = page;
    } else {
      page->next = head_;
      head_->prev = page;
    }
    SetFront(page);
  }
  void PushBack(PageInfo* page) {
    if (head_ == Empty()) return PushFront(page);
    RUSTY_MALLOC_DCHECK(
        page != head_ && page->prev == nullptr && page->next == nullptr, page);
    page->next = nullptr;
    page->prev = tail_;
    tail_->next = page;
    tail_ = page;
  }

  // Puts `page`, in this queue, right behind the front page, where the next
  // scan for a page with free blocks looks first.
  void MoveBehindHead(PageInfo* page) {
    if (page == head_ || page->prev == head_) return;
    Unlink(page);
    page->prev = head_;
    page->next = head_->next;
    (head_->next != nullptr ? head_->next->prev : tail_) = page;
    head_->next = page;
  }

 private:
  static PageInfo* Empty() { return &per_thread_internal::no_front_page; }
  // Moves the bias from the old front page to `page` (or Empty()).
  void SetFront(PageInfo* page) {
    if (head_ != Empty()) OwnerStore(head_->used, head_->used - kFrontBias);
    if (page != Empty()) OwnerStore(page->used, page->used + kFrontBias);
    head_ = page;
  }

  PageInfo* head_ = Empty();
  PageInfo* tail_ = nullptr;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_QUEUE_H_

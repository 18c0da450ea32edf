#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_QUEUE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_QUEUE_H_

#include "allocator/per_thread/chunk.h"

namespace rusty_malloc {

// A doubly linked queue of pages, threaded through PageInfo::next and prev,
// so queueing costs no memory. A thread heap keeps one per size class; the
// page at the front serves allocations. Not thread-safe: the owning thread's.
class PageQueue {
 public:
  PageInfo* head() const { return head_; }

  // `page` must be in this queue.
  void Unlink(PageInfo* page) {
    (page->prev != nullptr ? page->prev->next : head_) = page->next;
    (page->next != nullptr ? page->next->prev : tail_) = page->prev;
    page->next = page->prev = nullptr;
  }

  // `page` must be in no queue.
  void PushFront(PageInfo* page) {
    page->prev = nullptr;
    page->next = head_;
    (head_ != nullptr ? head_->prev : tail_) = page;
    head_ = page;
  }
  void PushBack(PageInfo* page) {
    page->next = nullptr;
    page->prev = tail_;
    (tail_ != nullptr ? tail_->next : head_) = page;
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
  PageInfo* head_ = nullptr;
  PageInfo* tail_ = nullptr;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_QUEUE_H_

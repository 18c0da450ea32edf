#include "allocator/per_thread/page_queue.h"

namespace rusty_malloc::per_thread_internal {

constinit PageInfo no_front_page;

}  // namespace rusty_malloc::per_thread_internal

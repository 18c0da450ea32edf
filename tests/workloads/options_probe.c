// Allocates once and says so: malloc_faults_test.sh runs a set-user-ID copy
// of it (the drop-in linked in) to see that the allocator's options are not
// read there. No library of its own, so the secure loader runs it as it is.
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  free(malloc(10));
  printf("options ok\n");
  return 0;
}

/* The allocation cap's stand-in for sanitizer builds (see alloc_cap.h). */

#include "alloc_cap.h"

#include <stdio.h>

bool
alloc_cap_ready(void)
{
  printf("note: a sanitizer build: AddressSanitizer's max_allocation_size_mb "
         "(set for this test) aborts on any request above %zu MiB\n",
         ALLOC_CAP_BYTES >> 20U);
  return true;
}

unsigned long
alloc_cap_take_refusals(size_t* const largest)
{
  *largest = 0;
  return 0;
}

/* An allocation cap for the faults suite: with alloc_cap.c linked into an
   executable built with export_dynamic, every malloc-family request above
   ALLOC_CAP_BYTES, from the program or any library it loads, is refused
   (NULL, ENOMEM) and counted. In sanitizer builds the sanitizer owns
   malloc: alloc_cap_absent.c counts nothing, and the test runs with
   AddressSanitizer's max_allocation_size_mb, which aborts on such a
   request instead. */

#ifndef SW_TEST_ALLOC_CAP_H
#define SW_TEST_ALLOC_CAP_H

#include <stdbool.h>
#include <stddef.h>

#define ALLOC_CAP_BYTES ((size_t)256 * 1024 * 1024)

/* Says on stdout how the cap is enforced in this build; false when it is
   not enforced. */
bool
alloc_cap_ready(void);

/* Requests above the cap refused since the last call (then cleared), and
   the largest of them. */
unsigned long
alloc_cap_take_refusals(size_t* largest);

#endif

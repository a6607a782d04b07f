#define _GNU_SOURCE

#include "alloc_cap.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* glibc's real allocator entry points (exported by libc.so.6). */
extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* ptr, size_t size);
extern void* __libc_memalign(size_t alignment, size_t size);

static unsigned long refusals = 0;
static size_t        largest_refused = 0;

static bool
over_cap(const size_t size)
{
  if (size <= ALLOC_CAP_BYTES) {
    return false;
  }
  __atomic_fetch_add(&refusals, 1UL, __ATOMIC_RELAXED);
  if (size > largest_refused) {
    largest_refused = size;
  }
  errno = ENOMEM;
  return true;
}

void*
malloc(size_t size)
{
  return over_cap(size) ? NULL : __libc_malloc(size);
}

void*
calloc(size_t count, size_t size)
{
  size_t total = 0;
  if (__builtin_mul_overflow(count, size, &total)) {
    total = SIZE_MAX;
  }
  return over_cap(total) ? NULL : __libc_calloc(count, size);
}

void*
realloc(void* ptr, size_t size)
{
  return over_cap(size) ? NULL : __libc_realloc(ptr, size);
}

void*
aligned_alloc(size_t alignment, size_t size)
{
  return over_cap(size) ? NULL : __libc_memalign(alignment, size);
}

void*
memalign(size_t alignment, size_t size)
{
  return over_cap(size) ? NULL : __libc_memalign(alignment, size);
}

int
posix_memalign(void** out, size_t alignment, size_t size)
{
  if (over_cap(size)) {
    return ENOMEM;
  }
  void* const p = __libc_memalign(alignment, size);
  if (!p) {
    return ENOMEM;
  }
  *out = p;
  return 0;
}

bool
alloc_cap_ready(void)
{
  /* volatile: the compiler must make the call it cannot see. */
  void* (*volatile direct_malloc)(size_t) = malloc;
  void* const p = direct_malloc(ALLOC_CAP_BYTES + 1U);
  size_t      largest = 0;
  if (p || alloc_cap_take_refusals(&largest) != 1) {
    free(p);
    printf("FAIL: the allocation cap does not see a direct malloc\n");
    return false;
  }
  printf("note: malloc & co. refuse and count requests above %zu MiB\n",
         ALLOC_CAP_BYTES >> 20U);
  return true;
}

unsigned long
alloc_cap_take_refusals(size_t* const largest)
{
  const unsigned long n = refusals;
  *largest              = largest_refused;
  refusals              = 0;
  largest_refused       = 0;
  return n;
}

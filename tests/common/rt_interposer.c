#define _GNU_SOURCE
/* open/open64 and fopen/fopen64 are interposed apart: no redirection of
   one to the other. */
#undef _FILE_OFFSET_BITS

#include "rt_interposer.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* glibc's real allocator entry points (exported by libc.so.6). */
extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
extern void* __libc_realloc(void* ptr, size_t size);
extern void  __libc_free(void* ptr);
extern void* __libc_memalign(size_t alignment, size_t size);

typedef enum {
  CALL_MALLOC,
  CALL_CALLOC,
  CALL_REALLOC,
  CALL_FREE,
  CALL_ALIGNED_ALLOC,
  CALL_POSIX_MEMALIGN,
  CALL_MEMALIGN,
  CALL_MUTEX_LOCK,
  CALL_OPEN,
  CALL_FOPEN,
  CALL_SOCKET,
  CALL_KINDS,
} CallKind;

static const char* const call_names[CALL_KINDS] = {
  "malloc",        "calloc",         "realloc",  "free",
  "aligned_alloc", "posix_memalign", "memalign", "pthread_mutex_lock",
  "open",          "fopen",          "socket",
};

static volatile int           armed = 0;
static volatile unsigned long counts[CALL_KINDS];

typedef int (*MutexLockFunc)(pthread_mutex_t*);
typedef int (*OpenFunc)(const char*, int, ...);
typedef FILE* (*FopenFunc)(const char*, const char*);
typedef int (*SocketFunc)(int, int, int);
static MutexLockFunc real_mutex_lock = NULL;
static OpenFunc      real_open       = NULL;
static OpenFunc      real_open64     = NULL;
static FopenFunc     real_fopen      = NULL;
static FopenFunc     real_fopen64    = NULL;
static SocketFunc    real_socket     = NULL;

static void
count_call(const CallKind kind)
{
  if (armed) {
    __atomic_fetch_add(&counts[kind], 1UL, __ATOMIC_RELAXED);
  }
}

void*
malloc(size_t size)
{
  count_call(CALL_MALLOC);
  return __libc_malloc(size);
}

void*
calloc(size_t count, size_t size)
{
  count_call(CALL_CALLOC);
  return __libc_calloc(count, size);
}

void*
realloc(void* ptr, size_t size)
{
  count_call(CALL_REALLOC);
  return __libc_realloc(ptr, size);
}

void
free(void* ptr)
{
  count_call(CALL_FREE);
  __libc_free(ptr);
}

void*
aligned_alloc(size_t alignment, size_t size)
{
  count_call(CALL_ALIGNED_ALLOC);
  return __libc_memalign(alignment, size);
}

void*
memalign(size_t alignment, size_t size)
{
  count_call(CALL_MEMALIGN);
  return __libc_memalign(alignment, size);
}

int
posix_memalign(void** out, size_t alignment, size_t size)
{
  count_call(CALL_POSIX_MEMALIGN);
  if (alignment < sizeof(void*) || (alignment & (alignment - 1U)) != 0) {
    return EINVAL;
  }
  void* const ptr = __libc_memalign(alignment, size);
  if (!ptr && size) {
    return ENOMEM;
  }
  *out = ptr;
  return 0;
}

/* ISO C has no cast from object to function pointer: copy the bytes. */
static void
resolve(const char* const name, void* const function_pointer)
{
  void* const symbol = dlsym(RTLD_NEXT, name);
  memcpy(function_pointer, &symbol, sizeof(symbol));
}

int
pthread_mutex_lock(pthread_mutex_t* mutex)
{
  count_call(CALL_MUTEX_LOCK);
  if (!real_mutex_lock) {
    resolve("pthread_mutex_lock", &real_mutex_lock);
  }
  return real_mutex_lock ? real_mutex_lock(mutex) : EINVAL;
}

static int
forward_open(OpenFunc* const real, const char* const name,
             const char* const path, const int flags, va_list args)
{
  count_call(CALL_OPEN);
  if (!*real) {
    resolve(name, real);
  }
  const int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(args, int) : 0;
  return *real ? (*real)(path, flags, mode) : (errno = ENOSYS, -1);
}

int
open(const char* path, int flags, ...)
{
  va_list args;
  va_start(args, flags);
  const int fd = forward_open(&real_open, "open", path, flags, args);
  va_end(args);
  return fd;
}

int
open64(const char* path, int flags, ...)
{
  va_list args;
  va_start(args, flags);
  const int fd = forward_open(&real_open64, "open64", path, flags, args);
  va_end(args);
  return fd;
}

static FILE*
forward_fopen(FopenFunc* const real, const char* const name,
              const char* const path, const char* const mode)
{
  count_call(CALL_FOPEN);
  if (!*real) {
    resolve(name, real);
  }
  return *real ? (*real)(path, mode) : NULL;
}

FILE*
fopen(const char* path, const char* mode)
{
  return forward_fopen(&real_fopen, "fopen", path, mode);
}

/* What code built with _FILE_OFFSET_BITS=64 (Meson's default) calls. */
FILE*
fopen64(const char* path, const char* mode)
{
  return forward_fopen(&real_fopen64, "fopen64", path, mode);
}

int
socket(int domain, int type, int protocol)
{
  count_call(CALL_SOCKET);
  if (!real_socket) {
    resolve("socket", &real_socket);
  }
  return real_socket ? real_socket(domain, type, protocol) : -1;
}

static void
clear(void)
{
  for (size_t k = 0; k < CALL_KINDS; ++k) {
    counts[k] = 0;
  }
}

void
rt_arm(void)
{
  clear();
  __atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

unsigned long
rt_disarm(const char* const what)
{
  __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
  unsigned long total = 0;
  for (size_t k = 0; k < CALL_KINDS; ++k) {
    if (counts[k]) {
      fprintf(stderr, "FAIL: %s: called %s %lu time(s)\n", what,
              call_names[k], counts[k]);
      total += counts[k];
    }
  }
  clear();
  return total;
}

unsigned long
rt_disarm_count(void)
{
  __atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
  const unsigned long total =
    counts[CALL_MALLOC] + counts[CALL_CALLOC] + counts[CALL_REALLOC] +
    counts[CALL_ALIGNED_ALLOC] + counts[CALL_POSIX_MEMALIGN] +
    counts[CALL_MEMALIGN];
  clear();
  return total;
}

bool
rt_interposer_ready(void)
{
  resolve("pthread_mutex_lock", &real_mutex_lock);
  resolve("open", &real_open);
  resolve("open64", &real_open64);
  resolve("fopen", &real_fopen);
  resolve("fopen64", &real_fopen64);
  resolve("socket", &real_socket);

  /* volatile pointers: the compiler must make the calls it cannot see. */
  void* (*volatile direct_malloc)(size_t)          = malloc;
  void (*volatile direct_free)(void*)              = free;
  FILE* (*volatile direct_fopen)(const char*, const char*) = fopen;
  pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;

  clear();
  armed         = 1;
  void* const p = direct_malloc(16);
  (void)pthread_mutex_lock(&mutex);
  FILE* const f = direct_fopen("/dev/null", "r");
  armed         = 0;
  (void)pthread_mutex_unlock(&mutex);
  direct_free(p);
  if (f) {
    fclose(f);
  }
  /* fopen allocates its FILE: malloc may count more than once. */
  const bool ok = counts[CALL_MALLOC] >= 1 && counts[CALL_MUTEX_LOCK] == 1 &&
                  counts[CALL_FOPEN] == 1;
  if (!ok) {
    fprintf(stderr,
            "FAIL: rt interposer self-check: malloc %lu, mutex %lu, fopen %lu "
            "(expected at least 1 each): the checks would prove nothing\n",
            counts[CALL_MALLOC], counts[CALL_MUTEX_LOCK], counts[CALL_FOPEN]);
  }
  clear();
  return ok;
}

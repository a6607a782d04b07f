#include "cudnn_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t api_once = PTHREAD_ONCE_INIT;
static SwCudnnApi     api;
static bool           api_ok;
static char           api_why[512];

/* The symbol `name` of `lib` into `*slot`, a function pointer: copied as
   bytes, since ISO C has no conversion from dlsym's void* to a function
   pointer. */
static bool
resolve(void* const lib, const char* const name, void* const slot,
        const size_t slot_size)
{
  void* const symbol = dlsym(lib, name);
  if (!symbol) {
    snprintf(api_why, sizeof(api_why), "%s not found in libcudnn: %s", name,
             dlerror());
    return false;
  }
  memcpy(slot, &symbol, slot_size);
  return true;
}

static void
load_api(void)
{
  /* libcudnn.so.9 is the cuDNN 9 front library; it opens libcudnn_adv and
     the others itself. A bare libcudnn.so may be a development link to
     some other major version, so the version is checked below. */
  void* lib = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    char first[384];
    snprintf(first, sizeof(first), "%s", dlerror());
    lib = dlopen("libcudnn.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      snprintf(api_why, sizeof(api_why), "libcudnn.so.9 not found: %s", first);
      return;
    }
  }

#define SW_CUDNN_RESOLVE(name)                                    \
  if (!resolve(lib, #name, (void*)&api.name, sizeof(api.name))) { \
    return;                                                       \
  }
  SW_CUDNN_FUNCTIONS(SW_CUDNN_RESOLVE)
#undef SW_CUDNN_RESOLVE

  /* cuDNN 9 numbers versions major*10000 + minor*100 + patch. */
  api.version = api.cudnnGetVersion();
  snprintf(api.version_text, sizeof(api.version_text), "%zu.%zu.%zu",
           api.version / 10000U, api.version % 10000U / 100U,
           api.version % 100U);
  if (api.version < 90000U || api.version >= 100000U) {
    snprintf(api_why, sizeof(api_why),
             "libcudnn reports version %zu; this build needs cuDNN 9",
             api.version);
    return;
  }
  api_ok = true;
}

const SwCudnnApi*
sw_cudnn_api(const char** const why)
{
  pthread_once(&api_once, load_api);
  if (!api_ok) {
    *why = api_why;
    return NULL;
  }
  return &api;
}

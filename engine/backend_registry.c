#include "backend.h"
#include "error.h"

const SwBackendIface*
sw_backend_find(const SwBackendKind kind, SwError* const err)
{
  switch (kind) {
  case SW_BACKEND_AUTO:
    /* No GPU backend is built yet, so the CPU is always the fastest. */
  case SW_BACKEND_CPU:
    return &sw_cpu_backend;
  }
  sw_error_set(err, SW_ERR_BAD_ARG,
               "backend is %d; expected auto (0) or cpu (1)", (int)kind);
  return NULL;
}

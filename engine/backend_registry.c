/* Which backends this libstatewave has, by kind and by name. */

#include "backend.h"

#include <stdio.h>
#include <string.h>

static const char* const kind_names[SW_BACKEND_KIND_COUNT] = {
  "auto",
  "cpu",
  "cudnn",
  "fused",
  "cpu-ref",
};

static const SwBackendIface* overrides[SW_BACKEND_KIND_COUNT];

void
sw_backend_override(const SwBackendKind kind,
                    const SwBackendIface* const backend)
{
  if ((int)kind >= 0 && (int)kind < SW_BACKEND_KIND_COUNT) {
    overrides[kind] = backend;
  }
}

const SwBackendIface*
sw_backend_get(const SwBackendKind kind)
{
  if ((int)kind >= 0 && (int)kind < SW_BACKEND_KIND_COUNT && overrides[kind]) {
    return overrides[kind];
  }
  switch (kind) {
  case SW_BACKEND_CPU:
    return &sw_cpu_backend;
  case SW_BACKEND_CPU_REF:
    return &sw_cpu_ref_backend;
#ifdef SW_HAVE_CUDA
  case SW_BACKEND_CUDNN:
    return &sw_cudnn_backend;
  case SW_BACKEND_FUSED:
    return &sw_fused_backend;
#else
  case SW_BACKEND_CUDNN:
  case SW_BACKEND_FUSED:
#endif
  case SW_BACKEND_AUTO:
    break;
  }
  return NULL;
}

SwStatus
sw_backend_parse(const char* const name, SwBackendKind* const kind)
{
  if (!name || !kind) {
    return SW_ERR_BAD_ARG;
  }
  for (int k = 0; k < SW_BACKEND_KIND_COUNT; ++k) {
    if (!strcmp(name, kind_names[k])) {
      *kind = (SwBackendKind)k;
      return SW_SUCCESS;
    }
  }
  return SW_ERR_BAD_ARG;
}

SwStatus
sw_backend_info(const SwBackendKind kind, SwBackendInfo* const info)
{
  if (!info || (int)kind < 0 || (int)kind >= SW_BACKEND_KIND_COUNT) {
    return SW_ERR_BAD_ARG;
  }
  memset(info, 0, sizeof(*info));
  info->kind = kind;
  info->name = kind_names[kind];
  if (kind == SW_BACKEND_AUTO) {
    info->built  = true;
    info->usable = true;
    snprintf(info->detail, sizeof(info->detail),
             "measures the usable backends for each model and stream count "
             "when an engine is made; the CPU when no GPU backend is usable "
             "or faster");
    return SW_SUCCESS;
  }
  const SwBackendIface* const backend = sw_backend_get(kind);
  if (!backend) {
    snprintf(info->detail, sizeof(info->detail),
             "not built: this libstatewave was built without CUDA (Meson "
             "found no nvcc, CUDA runtime or cudnn.h)");
    return SW_SUCCESS;
  }
  info->built  = true;
  info->usable = backend->probe(info->detail, sizeof(info->detail));
  return SW_SUCCESS;
}

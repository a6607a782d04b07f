#include "gpu_device.h"

#include <cuda_runtime_api.h>

#include <stdio.h>
#include <stdlib.h>

bool
sw_gpu_probe(char* const detail, const size_t detail_size)
{
  /* Without a driver cudaGetDeviceCount fails and leaves the count as is. */
  int               count = 0;
  const cudaError_t st    = cudaGetDeviceCount(&count);
  if (st != cudaSuccess) {
    snprintf(detail, detail_size, "no usable CUDA driver or device (%s)",
             cudaGetErrorString(st));
    return false;
  }
  if (count < 1) {
    snprintf(detail, detail_size, "no CUDA device");
    return false;
  }
  struct cudaDeviceProp prop;
  const cudaError_t     pst = cudaGetDeviceProperties(&prop, 0);
  if (pst != cudaSuccess) {
    snprintf(detail, detail_size, "CUDA device 0 does not answer (%s)",
             cudaGetErrorString(pst));
    return false;
  }
  int driver  = 0;
  int runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  if (prop.major < SW_GPU_MIN_MAJOR) {
    snprintf(detail, detail_size,
             "%s has compute capability %d.%d; this build needs %d.0 or "
             "newer",
             prop.name, prop.major, prop.minor, SW_GPU_MIN_MAJOR);
    return false;
  }
  snprintf(detail, detail_size,
           "%s (compute %d.%d, %d SMs, driver %d.%d, runtime %d.%d)",
           prop.name, prop.major, prop.minor, prop.multiProcessorCount,
           driver / 1000, (driver % 1000) / 10, runtime / 1000,
           (runtime % 1000) / 10);
  return true;
}

void
sw_gpu_fault_init(SwGpuFault* const fault)
{
  const char* const env = getenv("STATEWAVE_GPU_FAIL_AFTER");
  char*             end = NULL;
  fault->blocks         = 0;
  fault->armed          = false;
  fault->fail_after     = 0;
  if (env && *env) {
    const unsigned long long n = strtoull(env, &end, 10);
    if (end && *end == '\0') {
      fault->armed      = true;
      fault->fail_after = n;
    }
  }
}

bool
sw_gpu_fault_now(SwGpuFault* const fault)
{
  if (!fault->armed) {
    return false;
  }
  return fault->blocks++ >= fault->fail_after;
}

/* What every GPU backend shares: finding a usable device, and the
   simulated device failure the cuda test suite uses (private). */

#ifndef SW_GPU_DEVICE_H
#define SW_GPU_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Oldest compute capability the device code is built for (sm_80). */
#define SW_GPU_MIN_MAJOR 8

/* Whether device 0 answers and this build can run on it: writes its name,
   compute capability, driver and runtime versions, or why not (no driver,
   no device, too old). [non-RT] */
bool
sw_gpu_probe(char* detail, size_t detail_size);

/* A simulated device failure: with STATEWAVE_GPU_FAIL_AFTER=N in the
   environment when a GPU context is made, its blocks after the first N
   fail as a lost device would. Tests use it to check the fallback to the
   CPU with a real GPU; nothing else sets it. */
typedef struct {
  bool     armed;
  uint64_t fail_after;
  uint64_t blocks;
} SwGpuFault;

#define SW_GPU_FAULT_MESSAGE \
  "simulated device failure (STATEWAVE_GPU_FAIL_AFTER is set)"

/* [non-RT] */
void
sw_gpu_fault_init(SwGpuFault* fault);

/* Count one block; true when it must fail. [RT-safe] */
bool
sw_gpu_fault_now(SwGpuFault* fault);

#endif

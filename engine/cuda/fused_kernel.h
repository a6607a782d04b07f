/* Launching the fused kernel from C (private). */

#ifndef SW_FUSED_KERNEL_H
#define SW_FUSED_KERNEL_H

#include "fused_plan.h"

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How a model is laid out on the GPU, fixed at creation. */
typedef struct {
  uint32_t streams;
  uint32_t threads;       /* per thread block */
  uint32_t slices;        /* thread blocks per stream; 1: no grid sync */
  uint32_t cache_weights; /* copy the weights to shared memory per launch */
  size_t   shared_bytes;  /* dynamic shared memory per block */
} SwFusedLaunch;

/* Device buffers a launch reads and writes. */
typedef struct {
  const SwFusedPlan* plan; /* a copy in device memory */
  const float* weights;
  const float* in;
  float*       out;
  float*       state;
  float*       state_copy;
  unsigned*    resets;
  float*       work; /* cooperative launches only */
} SwFusedBuffers;

/* Allow the shared memory the one-block-per-stream kernel asks for.
   [non-RT] */
cudaError_t
sw_fused_configure(const SwFusedLaunch* launch);

/* Cooperative blocks of `threads` that fit on one SM at once. [non-RT] */
cudaError_t
sw_fused_grid_capacity(uint32_t threads, int* blocks_per_sm);

/* Queue one block of `frames` frames on `stream`. */
cudaError_t
sw_fused_launch(const SwFusedLaunch* launch,
                const SwFusedBuffers* buffers, uint32_t frames,
                cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif

// The fused kernel: one launch runs every frame of a block through every
// layer for every stream. Small models: one thread block per stream, work
// vectors (and the weights when they fit) in shared memory, __syncthreads
// between phases. Large models: a cooperative grid of `slices` blocks per
// stream, work vectors in global memory, a grid-wide sync between phases.

#include "fused_kernel.h"
#include "fused_step.h"

#include <cooperative_groups.h>

namespace cg = cooperative_groups;

namespace {

struct KernelArgs {
  const SwFusedPlan* plan; // in device memory: read through the cache, not
                           // copied into every thread's stack
  const float* weights;
  const float* in;         // [streams][frames][I]
  float*       out;        // [streams][frames][O]
  float*       state;      // [streams][S], kept between blocks
  float*       state_copy; // [streams][S], downloaded with out
  unsigned*    resets;     // [streams]
  float*       work;       // cooperative: [streams][work floats]
  uint32_t     frames;
  uint32_t     slices;
  uint32_t     cache_weights;
};

__device__ SwFusedStream
bind_stream(const SwFusedPlan* plan, const KernelArgs& a, uint32_t stream,
            const float* weights, float* work)
{
  SwFusedStream s;
  s.plan       = plan;
  s.weights    = weights;
  s.in         = a.in + (size_t)stream * a.frames * plan->input_width;
  s.out        = a.out + (size_t)stream * a.frames * plan->output_width;
  s.state_io   = a.state + (size_t)stream * plan->state_size;
  s.state_copy = a.state_copy + (size_t)stream * plan->state_size;
  s.resets     = a.resets + stream;
  sw_fused_bind_work(&s, work);
  return s;
}

__global__ void
fused_block_kernel(const KernelArgs a)
{
  extern __shared__ float shared[];
  const SwFusedPlan& plan = *a.plan;
  const uint32_t tid      = threadIdx.x;
  const uint32_t nthreads = blockDim.x;
  const float*   weights  = a.weights;
  if (a.cache_weights) {
    float* const cached = shared + sw_fused_work_floats(&plan);
    for (uint32_t i = tid; i < plan.weight_count; i += nthreads) {
      cached[i] = a.weights[i];
    }
    weights = cached;
    __syncthreads();
  }
  SwFusedStream s = bind_stream(&plan, a, blockIdx.x, weights, shared);
#define SW_RUN(phase, layer, t) sw_fused_phase(&s, (phase), (layer), (t), tid, nthreads)
#define SW_BARRIER() __syncthreads()
  SW_FUSED_DRIVE(&s, a.frames, SW_RUN, SW_BARRIER);
#undef SW_BARRIER
#undef SW_RUN
}

__global__ void
fused_grid_kernel(const KernelArgs a)
{
  const SwFusedPlan& plan = *a.plan;
  cg::grid_group grid     = cg::this_grid();
  const uint32_t stream   = blockIdx.x / a.slices;
  const uint32_t slice    = blockIdx.x % a.slices;
  const uint32_t tid      = slice * blockDim.x + threadIdx.x;
  const uint32_t nthreads = a.slices * blockDim.x;
  float* const   work = a.work + (size_t)stream * sw_fused_work_floats(&plan);
  SwFusedStream  s    = bind_stream(&plan, a, stream, a.weights, work);
#define SW_RUN(phase, layer, t) sw_fused_phase(&s, (phase), (layer), (t), tid, nthreads)
#define SW_BARRIER() grid.sync()
  SW_FUSED_DRIVE(&s, a.frames, SW_RUN, SW_BARRIER);
#undef SW_BARRIER
#undef SW_RUN
}

} // namespace

extern "C" cudaError_t
sw_fused_configure(const SwFusedLaunch* const launch)
{
  if (launch->slices > 1U) {
    return cudaSuccess;
  }
  return cudaFuncSetAttribute(fused_block_kernel,
                              cudaFuncAttributeMaxDynamicSharedMemorySize,
                              (int)launch->shared_bytes);
}

extern "C" cudaError_t
sw_fused_grid_capacity(const uint32_t threads, int* const blocks_per_sm)
{
  return cudaOccupancyMaxActiveBlocksPerMultiprocessor(
    blocks_per_sm, fused_grid_kernel, (int)threads, 0);
}

extern "C" cudaError_t
sw_fused_launch(const SwFusedLaunch* const launch,
                const SwFusedBuffers* const buffers, const uint32_t frames,
                cudaStream_t stream)
{
  KernelArgs a;
  a.plan          = buffers->plan;
  a.weights       = buffers->weights;
  a.in            = buffers->in;
  a.out           = buffers->out;
  a.state         = buffers->state;
  a.state_copy    = buffers->state_copy;
  a.resets        = buffers->resets;
  a.work          = buffers->work;
  a.frames        = frames;
  a.slices        = launch->slices;
  a.cache_weights = launch->cache_weights;

  if (launch->slices <= 1U) {
    fused_block_kernel<<<launch->streams, launch->threads, launch->shared_bytes,
                         stream>>>(a);
    return cudaGetLastError();
  }
  void* args[] = { &a };
  return cudaLaunchCooperativeKernel(
    (const void*)fused_grid_kernel, dim3(launch->streams * launch->slices),
    dim3(launch->threads), args, 0, stream);
}

#include "cudnn_head.h"

#include "activation.h"

namespace {

constexpr unsigned kThreads = 256;
/* Enough blocks to fill any current GPU; larger jobs loop (grid stride). */
constexpr size_t kMaxBlocks = 4096;

unsigned
blocks_for(const size_t count)
{
  const size_t blocks = (count + kThreads - 1) / kThreads;
  return (unsigned)(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

__global__ void
dense_kernel(const float* __restrict__ x, float* __restrict__ y,
             const float* __restrict__ weights_t,
             const float* __restrict__ bias, const uint32_t in_width,
             const uint32_t out_width, const size_t count,
             const SwActivation act, uint32_t* const nonfinite_flag,
             const uint32_t tag)
{
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    const size_t       row = i / out_width;
    const uint32_t     o   = (uint32_t)(i - row * out_width);
    const float* const xr  = x + row * in_width;
    float              sum = 0.0f;
    bool               bad = false;
    for (uint32_t k = 0; k < in_width; ++k) {
      const float v = xr[k];
      bad |= !isfinite(v);
      sum = __fadd_rn(sum, __fmul_rn(weights_t[(size_t)k * out_width + o], v));
    }
    if (bad && nonfinite_flag) {
      *nonfinite_flag = tag;
    }
    y[i] = sw_activate(act, __fadd_rn(bias[o], sum));
  }
}

__global__ void
flag_nonfinite_kernel(const float* __restrict__ values, const size_t count,
                      uint32_t* const flag, const uint32_t tag)
{
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    if (!isfinite(values[i])) {
      *flag = tag;
    }
  }
}

__global__ void
fill_int_kernel(int32_t* const dst, const uint32_t count, const int32_t value)
{
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count;
       i += gridDim.x * blockDim.x) {
    dst[i] = value;
  }
}

__global__ void
fill_pattern_kernel(float* const dst, const size_t count)
{
  const size_t stride = (size_t)gridDim.x * blockDim.x;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    uint32_t h = (uint32_t)i * 2654435761U;
    h ^= h >> 15;
    dst[i] = (float)(h & 0xffffU) / 32768.0f - 1.0f;
  }
}

} // namespace

extern "C" cudaError_t
sw_cudnn_dense(const float* const x, float* const y,
               const float* const weights_t, const float* const bias,
               const uint32_t in_width, const uint32_t out_width,
               const size_t rows, const SwActivation act,
               uint32_t* const nonfinite_flag, const uint32_t tag,
               const cudaStream_t stream)
{
  const size_t count = rows * out_width;
  if (count == 0) {
    return cudaSuccess;
  }
  dense_kernel<<<blocks_for(count), kThreads, 0, stream>>>(
    x, y, weights_t, bias, in_width, out_width, count, act, nonfinite_flag,
    tag);
  return cudaGetLastError();
}

extern "C" cudaError_t
sw_cudnn_flag_nonfinite(const float* const values, const size_t count,
                        uint32_t* const flag, const uint32_t tag,
                        const cudaStream_t stream)
{
  if (count == 0) {
    return cudaSuccess;
  }
  flag_nonfinite_kernel<<<blocks_for(count), kThreads, 0, stream>>>(
    values, count, flag, tag);
  return cudaGetLastError();
}

extern "C" cudaError_t
sw_cudnn_fill_int(int32_t* const dst, const uint32_t count, const int32_t value,
                  const cudaStream_t stream)
{
  if (count == 0) {
    return cudaSuccess;
  }
  fill_int_kernel<<<blocks_for(count), kThreads, 0, stream>>>(dst, count,
                                                              value);
  return cudaGetLastError();
}

extern "C" cudaError_t
sw_cudnn_fill_pattern(float* const dst, const size_t count,
                      const cudaStream_t stream)
{
  if (count == 0) {
    return cudaSuccess;
  }
  fill_pattern_kernel<<<blocks_for(count), kThreads, 0, stream>>>(dst, count);
  return cudaGetLastError();
}

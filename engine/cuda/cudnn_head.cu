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

__device__ float
sigmoid(const float x)
{
  return 1.0f / (1.0f + expf(-x));
}

__device__ float
clamp01(const float x)
{
  return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
}

/* engine/activation.h's sw_activate on the device: the same formulas with
   the full-precision math functions, and the products and sums rounded
   apart (no fused multiply-add) where the CPU rounds them apart. */
__device__ float
activate(const SwActivation act, const float x)
{
  switch (act) {
  case SW_ACT_DEFAULT:
  case SW_ACT_LINEAR:
    return x;
  case SW_ACT_TANH:
    return tanhf(x);
  case SW_ACT_RELU:
    return x > 0.0f ? x : 0.0f;
  case SW_ACT_SIGMOID:
    return sigmoid(x);
  case SW_ACT_HARD_SIGMOID:
    return clamp01(__fadd_rn(__fmul_rn(0.2f, x), 0.5f));
  case SW_ACT_HARD_SIGMOID_K3:
    return clamp01(__fadd_rn(x / 6.0f, 0.5f));
  case SW_ACT_ELU:
    return x > 0.0f ? x : expm1f(x);
  case SW_ACT_SELU:
    return SW_SELU_SCALE * (x > 0.0f ? x : SW_SELU_ALPHA * expm1f(x));
  case SW_ACT_SOFTSIGN:
    return x / (1.0f + fabsf(x));
  case SW_ACT_SOFTPLUS:
    return x > 20.0f ? x : log1pf(expf(x));
  case SW_ACT_SWISH:
    return x * sigmoid(x);
  }
  return x;
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
    y[i] = activate(act, __fadd_rn(bias[o], sum));
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

/* Device kernels of the cudnn backend besides cuDNN itself (private): the
   Dense layers after the recurrent ones, and buffer fills. Each launcher
   queues its kernel on `stream` and returns the launch status. */

#ifndef SW_CUDNN_HEAD_H
#define SW_CUDNN_HEAD_H

#include "statewave/statewave.h"

#include <cuda_runtime_api.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One Dense layer over `rows` frames:
     y[r][o] = act(bias[o] + sum_k weights_t[k][o] * x[r][k])
   with the weights transposed ([in_width][out_width]) so neighbouring
   threads read neighbouring weights. Summed in k order with separate
   multiply and add roundings, as the CPU's Dense. A non-NULL
   `nonfinite_flag` receives `tag` when any x is NaN or infinite. */
cudaError_t
sw_cudnn_dense(const float* x, float* y, const float* weights_t,
               const float* bias, uint32_t in_width, uint32_t out_width,
               size_t rows, SwActivation act, uint32_t* nonfinite_flag,
               uint32_t tag, cudaStream_t stream);

/* Writes `tag` into *flag when any of values[0 .. count) is NaN or
   infinite. */
cudaError_t
sw_cudnn_flag_nonfinite(const float* values, size_t count, uint32_t* flag,
                        uint32_t tag, cudaStream_t stream);

/* dst[0 .. count) = value. */
cudaError_t
sw_cudnn_fill_int(int32_t* dst, uint32_t count, int32_t value,
                  cudaStream_t stream);

/* dst[0 .. count) = a fixed pseudo-random pattern in [-1, 1), the input
   of the algorithm trials. */
cudaError_t
sw_cudnn_fill_pattern(float* dst, size_t count, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif

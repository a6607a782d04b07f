/* Keras activation functions, scalar float (private). */

#ifndef SW_ACTIVATION_H
#define SW_ACTIVATION_H

#include "statewave/statewave.h"

#include <math.h>

/* The same definitions run on the CPU, in the fused CUDA kernel and in its
   host executor, so every backend computes the same function. */
#ifdef __CUDACC__
#  define SW_HOST_DEVICE __host__ __device__
#else
#  define SW_HOST_DEVICE
#endif

/* Keras's SELU constants (keras.activations.selu). */
#define SW_SELU_ALPHA 1.67326324235437728481f
#define SW_SELU_SCALE 1.05070098735548049342f

SW_HOST_DEVICE static inline float
sw_sigmoid(const float x)
{
  return 1.0f / (1.0f + expf(-x));
}

/* a*b + c with the product rounded first, as the CPU computes it: nvcc
   would otherwise fuse it into one multiply-add. */
SW_HOST_DEVICE static inline float
sw_mul_add(const float a, const float b, const float c)
{
#ifdef __CUDA_ARCH__
  return __fadd_rn(__fmul_rn(a, b), c);
#else
  return a * b + c;
#endif
}

SW_HOST_DEVICE static inline float
sw_clamp01(const float x)
{
  return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
}

/* `act` is resolved (never SW_ACT_DEFAULT). */
SW_HOST_DEVICE static inline float
sw_activate(const SwActivation act, const float x)
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
    return sw_sigmoid(x);
  case SW_ACT_HARD_SIGMOID:
    return sw_clamp01(sw_mul_add(0.2f, x, 0.5f));
  case SW_ACT_HARD_SIGMOID_K3:
    return sw_clamp01(x / 6.0f + 0.5f);
  case SW_ACT_ELU:
    return x > 0.0f ? x : expm1f(x);
  case SW_ACT_SELU:
    return SW_SELU_SCALE * (x > 0.0f ? x : SW_SELU_ALPHA * expm1f(x));
  case SW_ACT_SOFTSIGN:
    return x / (1.0f + fabsf(x));
  case SW_ACT_SOFTPLUS:
    /* log1p(exp(x)) overflows for large x, where softplus(x) == x. */
    return x > 20.0f ? x : log1pf(expf(x));
  case SW_ACT_SWISH:
    return x * sw_sigmoid(x);
  }
  return x;
}

#ifndef __CUDACC__
/* Whether `act` is one of the enum's values. */
bool
sw_activation_valid(SwActivation act);
#endif

#endif

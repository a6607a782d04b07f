/* The fast CPU backend's model layout (private): every layer's weights
   transposed (one row of the transposed matrix per input, one column per
   output unit), gate blocks padded to SW_FAST_PAD units so the SIMD
   kernels never need a remainder loop, biases summed where the cell allows.
   Made once from the canonical model; the model itself is untouched. */

#ifndef SW_CPU_FAST_PLAN_H
#define SW_CPU_FAST_PLAN_H

#include "model_impl.h"

#include <stddef.h>
#include <stdint.h>

/* Gate blocks are padded to a multiple of this many units: the widest
   vector (AVX-512, 16 floats). */
#define SW_FAST_PAD 16U

typedef struct {
  SwLayerType  type;
  SwGruReset   gru_reset;
  SwActivation activation;
  SwActivation recurrent_activation;
  uint32_t     in;    /* I: input width */
  uint32_t     units; /* U */
  uint32_t     padded; /* Up: U rounded up to SW_FAST_PAD */
  uint32_t     rows;   /* gates * Up (Dense: Up) */
  /* LSTM, SimpleRNN: [I + U][rows], input [x; h], bias b + rb.
     GRU: [I][3Up] (x part), bias bW. Dense: [I][Up], bias b. */
  float*       wt;
  float*       bias;
  float*       wt_h;   /* GRU: [U][3Up] (r, z, n), bias bR in bias_h */
  float*       bias_h;
  /* Per stream work area, in floats from the stream's base: the layer's
     input vector (I floats, then h: Up floats right after it for recurrent
     layers, so [x; h] is one contiguous vector), the LSTM cell, the Dense
     output. */
  size_t       vec;  /* [I + Up] */
  size_t       cell; /* LSTM [Up] */
  size_t       out;  /* Dense [Up] */
} SwFastLayer;

typedef struct {
  uint32_t     num_layers;
  SwFastLayer* layers;
  size_t       work_floats;    /* per stream */
  size_t       scratch_floats; /* for a group of streams, for the kernels */
} SwFastPlan;

/* Streams the kernels run together through one pass over the weights. */
#define SW_FAST_GROUP 4U

/* One frame of up to SW_FAST_GROUP streams through every layer: layer 0's input is
   already in work[s] + layers[0].vec; afterwards the output vector is
   sw_fast_output(). `scratch` has plan->scratch_floats floats. */
typedef void (*SwFastFrameFunc)(const SwFastPlan* plan, float* const* work,
                                uint32_t streams, float* scratch);

/* The last layer's output within a stream's work area. */
static inline const float*
sw_fast_output(const SwFastPlan* plan, const float* work)
{
  const SwFastLayer* const last = &plan->layers[plan->num_layers - 1U];
  return work + (last->type == SW_LAYER_DENSE ? last->out : last->vec + last->in);
}

/* The kernels: simd_kernels.c built once per instruction set with
   SW_KERNEL_ISA naming it (sse2, avx2, avx512 on x86-64; neon on aarch64;
   generic elsewhere). */
void sw_fast_frame_sse2(const SwFastPlan*, float* const*, uint32_t, float*);
void sw_fast_frame_avx2(const SwFastPlan*, float* const*, uint32_t, float*);
void sw_fast_frame_avx512(const SwFastPlan*, float* const*, uint32_t, float*);
void sw_fast_frame_neon(const SwFastPlan*, float* const*, uint32_t, float*);
void sw_fast_frame_generic(const SwFastPlan*, float* const*, uint32_t, float*);

/* The fast activations on one vector's worth of lanes, for the accuracy
   test: out[i] = tanh or sigmoid of in[i], n a multiple of 16. */
void sw_fast_tanh_sse2(const float*, float*, size_t);
void sw_fast_tanh_avx2(const float*, float*, size_t);
void sw_fast_tanh_avx512(const float*, float*, size_t);
void sw_fast_tanh_neon(const float*, float*, size_t);
void sw_fast_tanh_generic(const float*, float*, size_t);
void sw_fast_sigmoid_sse2(const float*, float*, size_t);
void sw_fast_sigmoid_avx2(const float*, float*, size_t);
void sw_fast_sigmoid_avx512(const float*, float*, size_t);
void sw_fast_sigmoid_neon(const float*, float*, size_t);
void sw_fast_sigmoid_generic(const float*, float*, size_t);

#endif

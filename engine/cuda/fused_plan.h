/* The fused kernel's view of a model: a flat list of layers with offsets
   into one packed weight array, built on the host and passed to the kernel
   by value (private). Plain C, also read by nvcc. */

#ifndef SW_FUSED_PLAN_H
#define SW_FUSED_PLAN_H

#include "statewave/statewave.h"

#include <stddef.h>
#include <stdint.h>

#define SW_FUSED_MAX_LAYERS 16U
#define SW_FUSED_NONE 0xffffffffU

/* Where a layer reads its input vector from. */
enum {
  SW_FUSED_SRC_INPUT = 0, /* the frame (x) */
  SW_FUSED_SRC_STATE,     /* h of an earlier recurrent layer, at src_offset */
  SW_FUSED_SRC_DENSE0,    /* an earlier Dense or Conv1D output */
  SW_FUSED_SRC_DENSE1,
};

typedef struct {
  uint32_t type; /* SwLayerType */
  uint32_t input_width;
  uint32_t units;
  uint32_t rows; /* gates * units */
  uint32_t activation;
  uint32_t recurrent_activation;
  uint32_t reset_after; /* GRU */
  uint32_t kernel_size; /* Conv1D taps */
  uint32_t dilation;
  uint32_t history; /* Conv1D: floats of past input kept, (K-1)*d*I */
  /* Offsets into the weight array, in floats. Matrices are transposed,
     [cols][rows], so neighbouring threads (rows) read neighbouring words. */
  uint32_t w;          /* W^T [input_width or K*I][rows] */
  uint32_t r;          /* R^T [units][rows], recurrent only */
  uint32_t bias;       /* [rows] */
  uint32_t rbias;      /* [rows], recurrent only */
  uint32_t initial_h;  /* [units] or SW_FUSED_NONE (zeros) */
  uint32_t initial_c;  /* [units] or SW_FUSED_NONE (zeros) */
  uint32_t state;      /* offset of this layer's state in a stream's */
  uint32_t src;        /* SW_FUSED_SRC_* */
  uint32_t src_offset; /* for SW_FUSED_SRC_STATE */
  uint32_t dst;        /* Dense/Conv1D output buffer: 0 or 1 */
} SwFusedLayer;

typedef struct {
  uint32_t     num_layers;
  uint32_t     input_width;
  uint32_t     output_width;
  uint32_t     out_src; /* where the last layer's output is (SW_FUSED_SRC_*) */
  uint32_t     out_offset;
  uint32_t     state_size;   /* floats per stream */
  uint32_t     scratch_size; /* floats of per-layer scratch */
  uint32_t     dense_size;   /* floats of each Dense/Conv1D output buffer */
  uint32_t     max_rows;     /* most rows any phase spreads over threads */
  uint32_t     weight_count; /* floats in the weight array */
  SwFusedLayer layers[SW_FUSED_MAX_LAYERS];
} SwFusedPlan;

/* The per-stream work vectors, in floats, in this order: x, state, scratch,
   dense0, dense1, then 4 flag words. Shared memory in the one-block-per-
   stream kernel, global memory in the cooperative one. */
#define SW_FUSED_FLAG_WORDS 4U

#ifdef __CUDACC__
__host__ __device__
#endif
static inline uint32_t
sw_fused_work_floats(const SwFusedPlan* const plan)
{
  return plan->input_width + plan->state_size + plan->scratch_size +
         2U * plan->dense_size + SW_FUSED_FLAG_WORDS;
}

#ifndef __CUDACC__
/* Build the plan for `model` and, when `weights` is not NULL, pack its
   weights (plan->weight_count floats). A model the kernel cannot run
   (windowed, too many layers, a Conv1D stride) is SW_ERR_UNSUPPORTED with
   the reason. [non-RT] */
SwStatus
sw_fused_plan_build(const SwModel* model, SwFusedPlan* plan, float* weights,
                    SwError* err);
#endif

#endif

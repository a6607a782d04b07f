/* The fast CPU backend's model layout (private): each layer's weights cut
   into blocks of vl output units (vl = the kernel set's vector width; the
   last block padded with zeros), each block transposed to [inputs][gates][vl]
   (LSTM gates i f g o, GRU r z n), so a kernel tile of a few blocks reads a
   few contiguous runs and holds every gate of its units. Made once from the
   canonical model, which stays untouched. */

#ifndef SW_CPU_FAST_PLAN_H
#define SW_CPU_FAST_PLAN_H

#include "model_impl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Accumulator vectors one tile of the kernels holds in registers: three
   quarters of the vector registers (16 with AVX2, SSE2, NEON; 32 with
   AVX-512), the rest for broadcasts and weights. */
#define SW_FAST_ACC_BUDGET(vl) ((vl) == 16U ? 24U : 12U)

/* How a pass over a layer's unit blocks is cut into tiles: `count` tiles,
   the first `wider` of width + 1 blocks, the rest of `width` (1..8). */
typedef struct {
  uint16_t count;
  uint16_t width;
  uint16_t wider;
} SwFastTiling;

typedef struct {
  SwLayerType  type;
  SwGruReset   gru_reset;
  SwActivation activation;
  SwActivation recurrent_activation;
  uint32_t     in;        /* I: input width */
  uint32_t     in_padded; /* I rounded up to vl */
  uint32_t     units;     /* U */
  uint32_t     padded;    /* Up: U rounded up to vl */
  uint32_t     blocks;    /* Up / vl */
  /* A Dense layer of fewer outputs than a vector: wx is [U][in_padded],
     one row per output (a dot product each), bias [U]. */
  bool         dot;
  /* Otherwise wx is [blocks][I][G][vl] and wh [blocks][U][G][vl], bias
     [blocks][G][vl]: LSTM and SimpleRNN b + rb; GRU r and z bW + bR, n bW,
     with bias_hn [Up] the candidate's bR (kept apart: reset-after scales it
     by r). */
  const float* wx;
  const float* wh;
  const float* bias;
  const float* bias_hn;
  /* The compact mode: wx and wh as IEEE halves, same layout (LSTM and
     reset-after GRU layers; NULL otherwise, and then wx and wh are used). */
  const uint16_t* wx_half;
  const uint16_t* wh_half;
  /* Offsets in a stream's work area, in floats: the layer's input vector
     (layer 0: the frame's input; others: the previous layer's output), its
     output (h, or a Dense layer's y), the LSTM cell. */
  size_t       in_at;
  size_t       out_at;
  size_t       cell_at;
  /* Tiles per pass of S streams: tiling[0][S - 1]; tiling[1][S - 1] for
     GRU reset-before's second pass. */
  SwFastTiling tiling[2][4];
} SwFastLayer;

typedef struct {
  uint32_t     num_layers;
  uint32_t     vl;             /* floats per vector of the kernel set */
  SwFastLayer* layers;
  size_t       work_floats;    /* per stream */
  size_t       scratch_floats; /* per stream, for the kernels */
} SwFastPlan;

/* Streams the kernels take in one call (at most). */
#define SW_FAST_GROUP 4U

/* Streams one pass of the kernels takes through the weights: the four
   accumulators of an LSTM block for each must fit the budget (3 with 16
   vector registers, 4 with 32). The backend hands the kernels groups of
   this many, so 8 streams read the weights 3 times a frame, not 4. */
#define SW_FAST_PASS_STREAMS(vl)                                               \
  (SW_FAST_ACC_BUDGET(vl) / 4U < SW_FAST_GROUP ? SW_FAST_ACC_BUDGET(vl) / 4U   \
                                               : SW_FAST_GROUP)

/* One frame of up to SW_FAST_GROUP streams through every layer: layer 0's
   input is already in work[s] + layers[0].in_at; afterwards the output is at
   sw_fast_output(). `scratch` has SW_FAST_GROUP * plan->scratch_floats
   floats. Returns a bit per stream whose new state holds an Inf or NaN. */
typedef uint32_t (*SwFastFrameFunc)(const SwFastPlan* plan, float* const* work,
                                    uint32_t streams, float* scratch);

/* The last layer's output within a stream's work area. */
static inline const float*
sw_fast_output(const SwFastPlan* plan, const float* work)
{
  return work + plan->layers[plan->num_layers - 1U].out_at;
}

/* The kernels: simd_kernels.c built once per instruction set with
   SW_KERNEL_ISA naming it (sse2, avx2, avx512 on x86-64; neon on aarch64;
   generic elsewhere). */
uint32_t sw_fast_frame_sse2(const SwFastPlan*, float* const*, uint32_t, float*);
uint32_t sw_fast_frame_avx2(const SwFastPlan*, float* const*, uint32_t, float*);
uint32_t sw_fast_frame_avx512(const SwFastPlan*, float* const*, uint32_t, float*);
uint32_t sw_fast_frame_neon(const SwFastPlan*, float* const*, uint32_t, float*);
uint32_t sw_fast_frame_generic(const SwFastPlan*, float* const*, uint32_t, float*);

/* The fast activations, for the accuracy test: out[i] = tanh or sigmoid of
   in[i], n a multiple of 16. */
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

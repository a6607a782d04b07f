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
   quarters of the kernel set's `regs` vector registers (16 with AVX2, SSE2,
   NEON; 32 with AVX-512, at either width), the rest for broadcasts and
   weights. */
#define SW_FAST_ACC_BUDGET(regs) ((regs) == 32U ? 24U : 12U)

/* With AVX2, one stream and float weights: each multiply-add reads its
   weight from memory, so the broadcast is the one other register and 15
   accumulators fit (a reset-after GRU of 40 units in one tile of five
   blocks: 205.3 -> 199.8 ns a sample on a Zen 3). Halves need a register to be
   converted into; SSE2 a product's. */
#define SW_FAST_ACC_BUDGET_ONE(vl, regs)                                       \
  ((vl) == 8U && (regs) == 16U ? 15U : SW_FAST_ACC_BUDGET(regs))

/* How a pass over a layer's unit blocks is cut into tiles: `count` tiles,
   the first `wider` of width + 1 blocks, the rest of `width` (1..8). */
typedef struct {
  uint16_t count;
  uint16_t width;
  uint16_t wider;
} SwFastTiling;

typedef struct SwFastLayer SwFastLayer;

/* One pass of S streams (the function's index: passes[S - 1]) through a
   layer, chosen for it by the kernel set (sw_fast_prepare_*): stream s's
   work area is work[s], its scratch scratch + s * scratch_floats. Returns a
   bit per stream whose new state holds an Inf or NaN. */
typedef uint32_t (*SwFastPassFunc)(const SwFastLayer* L, float* const* work,
                                   float* scratch, size_t scratch_floats);

struct SwFastLayer {
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
  /* The compact mode: wx and wh in 16 bits (LSTM and reset-after GRU
     layers; NULL otherwise, and then wx and wh are used), as IEEE halves in
     the same layout, or with `bf16` as bfloat16 in pairs of gates: the
     SW_VL floats of gate g and of g + 1 (g even) as SW_VL 32-bit lanes,
     lane j gate g's unit j in its low half and g + 1's in its high half;
     a last gate without a pair (GRU's n) as SW_VL halves. */
  const uint16_t* wx_half;
  const uint16_t* wh_half;
  bool            bf16;
  /* Offsets in a stream's work area, in floats: the layer's input vector
     (layer 0: the frame's input; others: the previous layer's output), its
     output (h, or a Dense layer's y), the LSTM cell. */
  size_t       in_at;
  size_t       out_at;
  size_t       cell_at;
  /* Only in an engine of one stream, for an LSTM layer with the usual
     activations whose float weights come from L2 every frame: one block
     a tile, its recurrent sums in two chains (even and odd inputs, added
     at the end: half the dependent steps), and the blocks forwards on even
     frames, backwards on odd ones, so a frame's first blocks are the last
     read, still in L1. Apart, neither gained (LSTM-128 on the Zen 4: 2527
     and 2523 against 2530 ns a sample); together 2404. An engine of
     several streams keeps one chain, so a stream's output does not depend
     on the streams it is grouped with. */
  bool         two_chains;
  /* Tiles per pass of S streams: tiling[0][S - 1]; tiling[1][S - 1] for
     GRU reset-before's second pass. */
  SwFastTiling tiling[2][4];
  /* The kernel set's pass functions for this layer, S = 1..4. */
  const SwFastPassFunc* passes;
};

typedef struct {
  uint32_t     num_layers;
  uint32_t     vl;             /* floats per vector of the kernel set */
  SwFastLayer* layers;
  size_t       work_floats;    /* per stream */
  size_t       scratch_floats; /* per stream, for the kernels */
  /* An engine of one stream and several layers runs a chunk of up to
     chunk_frames frames through each layer in turn, rather than each frame
     through every layer, when a layer has two chains (set by
     sw_fast_prepare_*): its blocks are then read on consecutive frames,
     the last of one frame the first of the next, with no other layer's
     weights between to push them out of L1. The same operations in the
     same order per layer and frame, so the same results, bit for bit. Each
     layer's outputs wait in chunk_frames rows of chunk_stride floats after
     the kernels' scratch; chunk_frames is 0 in other engines. */
  uint32_t     chunk_frames;
  size_t       chunk_stride;
  bool         layer_major;
} SwFastPlan;

/* Streams the kernels take in one call (at most). */
#define SW_FAST_GROUP 4U

/* Streams one pass of the kernels takes through the weights: the four
   accumulators of an LSTM block for each must fit the budget (3 with 16
   vector registers, 4 with 32). The backend hands the kernels groups of
   this many, so 8 streams read the weights 3 times a frame, not 4. */
#define SW_FAST_PASS_STREAMS(regs)                                             \
  (SW_FAST_ACC_BUDGET(regs) / 4U < SW_FAST_GROUP                               \
     ? SW_FAST_ACC_BUDGET(regs) / 4U                                           \
     : SW_FAST_GROUP)

/* The streams of one kernel call (at most SW_FAST_GROUP): their work areas,
   input frames (frame t at in[s] + t * layers[0].in) and output frames
   (frame t at out[s] + t * the last layer's units). */
typedef struct {
  uint32_t     streams;
  float*       work[SW_FAST_GROUP];
  const float* in[SW_FAST_GROUP];
  float*       out[SW_FAST_GROUP];
} SwFastStreams;

/* Frames t0 .. frames - 1 of the streams through every layer, frame by
   frame (or chunk by chunk, above); `scratch` has SW_FAST_GROUP *
   plan->scratch_floats + plan->chunk_frames * plan->chunk_stride floats.
   Returns the first frame it did not finish (`frames` when every one is
   done). At such a frame t either some stream's input frame holds an Inf
   or NaN and no stream took frame t (*bad = 0), or every stream took it
   (outputs written) and the new state of the streams in *bad (a bit each)
   holds one. */
typedef uint32_t (*SwFastRunFunc)(const SwFastPlan* plan,
                                  const SwFastStreams* io, uint32_t t0,
                                  uint32_t frames, float* scratch,
                                  uint32_t* bad);

/* The kernels: simd_kernels.c built once per instruction set with
   SW_KERNEL_ISA naming it (sse2, avx2, avx512vl: AVX-512 at AVX2's 8 lanes,
   avx512 on x86-64, and vec16, the portable code at 16 lanes for testing
   AVX-512's layout; neon on aarch64; generic elsewhere), SW_VL floats a
   vector and SW_REGS vector registers. */
/* Chooses every layer's pass functions (after the plan is made, and again
   when its weights become halves). */
void sw_fast_prepare_sse2(SwFastPlan*);
void sw_fast_prepare_avx2(SwFastPlan*);
void sw_fast_prepare_avx512vl(SwFastPlan*);
void sw_fast_prepare_avx512(SwFastPlan*);
void sw_fast_prepare_neon(SwFastPlan*);
void sw_fast_prepare_generic(SwFastPlan*);
void sw_fast_prepare_vec16(SwFastPlan*);
uint32_t sw_fast_run_sse2(const SwFastPlan*, const SwFastStreams*, uint32_t,
                          uint32_t, float*, uint32_t*);
uint32_t sw_fast_run_avx2(const SwFastPlan*, const SwFastStreams*, uint32_t,
                          uint32_t, float*, uint32_t*);
uint32_t sw_fast_run_avx512vl(const SwFastPlan*, const SwFastStreams*, uint32_t,
                              uint32_t, float*, uint32_t*);
uint32_t sw_fast_run_avx512(const SwFastPlan*, const SwFastStreams*, uint32_t,
                            uint32_t, float*, uint32_t*);
uint32_t sw_fast_run_neon(const SwFastPlan*, const SwFastStreams*, uint32_t,
                          uint32_t, float*, uint32_t*);
uint32_t sw_fast_run_generic(const SwFastPlan*, const SwFastStreams*, uint32_t,
                             uint32_t, float*, uint32_t*);
uint32_t sw_fast_run_vec16(const SwFastPlan*, const SwFastStreams*, uint32_t,
                           uint32_t, float*, uint32_t*);

/* The fast activations, for the accuracy test: out[i] = tanh or sigmoid of
   in[i], n a multiple of 16. */
void sw_fast_tanh_sse2(const float*, float*, size_t);
void sw_fast_tanh_avx2(const float*, float*, size_t);
void sw_fast_tanh_avx512vl(const float*, float*, size_t);
void sw_fast_tanh_avx512(const float*, float*, size_t);
void sw_fast_tanh_neon(const float*, float*, size_t);
void sw_fast_tanh_generic(const float*, float*, size_t);
void sw_fast_tanh_vec16(const float*, float*, size_t);
void sw_fast_sigmoid_sse2(const float*, float*, size_t);
void sw_fast_sigmoid_avx2(const float*, float*, size_t);
void sw_fast_sigmoid_avx512vl(const float*, float*, size_t);
void sw_fast_sigmoid_avx512(const float*, float*, size_t);
void sw_fast_sigmoid_neon(const float*, float*, size_t);
void sw_fast_sigmoid_generic(const float*, float*, size_t);
void sw_fast_sigmoid_vec16(const float*, float*, size_t);

#endif

/* The fast CPU backend's kernels, built once per instruction set (see
   engine/meson.build): SW_VL floats per vector, SW_REGS vector registers,
   SW_KERNEL_ISA the name suffix, the vector arithmetic in simd_vector.h.
   Weights are laid out by fast_backend.c (fast_plan.h): block by block of
   SW_VL units, each block [inputs][gates][SW_VL], so a tile streams
   through a few contiguous runs.

   A recurrent layer is computed in tiles of whole unit blocks: a tile's
   accumulators (every gate of its blocks, for every stream of the pass)
   stay in registers while the inputs and then the previous h are broadcast
   against rows of weights, each weight vector read once for every stream;
   then the tile's gates are activated and its part of the new state written
   while the next tile's multiply-adds run. Tiles are as wide as the
   registers allow (the accumulator budget), so no multiply-add waits on the
   one before. A pass function per layer type and stream count (chosen for
   each layer at creation: sw_fast_prepare) runs a layer's tiles for the
   streams of one pass and checks the new state; sw_fast_run takes a whole
   block of frames per call, layer by layer, frame by frame.

   Every output unit's sum is one chain in a fixed order (bias, inputs in
   order, then h in order; in an engine of one stream, an LSTM layer read
   from L2 splits the h part in two: fast_plan.h), every multiply-add is
   fused or not by the kernel set alone (vfma), and every activation is
   lane by lane, so a stream's result never depends on its tile or on the
   streams sharing its pass. */

#include "fast_plan.h"
#include "finite.h"
#include "simd_vector.h"

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define KERNEL(name) CAT(name, SW_KERNEL_ISA)

#define UNROLL _Pragma("GCC unroll 32")

/* Accumulators a tile may hold (fast_plan.h): three quarters of the vector
   registers. */
#define ACC_BUDGET ((int)SW_FAST_ACC_BUDGET(SW_REGS))
#define ACC_BUDGET_ONE ((int)SW_FAST_ACC_BUDGET_ONE(SW_VL, SW_REGS))

/* Streams per pass over a layer's weights (fast_plan.h); a call with more
   makes several passes. */
#define PASS_STREAMS SW_FAST_PASS_STREAMS(SW_REGS)

/* The streams of one pass (at most four), with pointers into their work
   areas for the layer at hand. */
typedef struct {
  const float* x[4];   /* the layer's input vector */
  float*       h[4];   /* its recurrent state (Dense: its output) */
  float*       c[4];   /* LSTM: the cell */
  float*       tmp[4]; /* scratch: the new h, GRU reset-before's terms */
  /* Where the tile at hand writes its new h: tmp, or for the last tile h
     itself (every tile before it has read the old h by then). */
  float*       out[4];
} Pass;

/* A tile function: blocks b0 .. b0 + T - 1 of S streams, S and T fixed. */
typedef void (*TileFunc)(const SwFastLayer* L, Pass* p, uint32_t b0,
                         SwActivation ract, SwActivation act);

/* Tile functions for every S (1..4) and T (1..8), made from an inline body
   with S and T as constants so its accumulators live in registers; those
   over the budget are empty and never called. `table` gets them as
   table[S - 1][T - 1]. The arguments after T go to the body: the
   activations (constants for the usual ones, else the layer's ract, act)
   and, for LSTM and GRU, the weights' format (WF_FLOAT, WF_HALF, WF_BF16). */
#define TILE(table, body, G, S, T, ...)                                        \
  static void table##_##S##_##T(const SwFastLayer* L, Pass* p, uint32_t b0,    \
                                SwActivation ract, SwActivation act)           \
  {                                                                            \
    (void)ract;                                                                \
    (void)act;                                                                 \
    if ((S) * (T) * (G) <= ((S) == 1 ? ACC_BUDGET_ONE : ACC_BUDGET)) {         \
      body(L, p, S, T, b0, __VA_ARGS__);                                       \
    }                                                                          \
  }
#define TILES_OF_S(table, body, G, S, ...)                                     \
  TILE(table, body, G, S, 1, __VA_ARGS__)                                      \
  TILE(table, body, G, S, 2, __VA_ARGS__)                                      \
  TILE(table, body, G, S, 3, __VA_ARGS__)                                      \
  TILE(table, body, G, S, 4, __VA_ARGS__)                                      \
  TILE(table, body, G, S, 5, __VA_ARGS__)                                      \
  TILE(table, body, G, S, 6, __VA_ARGS__)                                      \
  TILE(table, body, G, S, 7, __VA_ARGS__)                                      \
  TILE(table, body, G, S, 8, __VA_ARGS__)
#define ROW_OF_S(table, S)                                                     \
  {table##_##S##_1, table##_##S##_2, table##_##S##_3, table##_##S##_4,         \
   table##_##S##_5, table##_##S##_6, table##_##S##_7, table##_##S##_8}
#define TILE_TABLE(table, body, G, ...)                                        \
  TILES_OF_S(table, body, G, 1, __VA_ARGS__)                                   \
  TILES_OF_S(table, body, G, 2, __VA_ARGS__)                                   \
  TILES_OF_S(table, body, G, 3, __VA_ARGS__)                                   \
  TILES_OF_S(table, body, G, 4, __VA_ARGS__)                                   \
  static const TileFunc table[4][8] = {ROW_OF_S(table, 1), ROW_OF_S(table, 2), \
                                       ROW_OF_S(table, 3), ROW_OF_S(table, 4)};

/* Blocks in tile i of a tiling. */
SW_INLINE uint32_t
tile_width(const SwFastTiling* const tiling, const uint32_t i)
{
  return tiling->width + (i < tiling->wider ? 1U : 0U);
}

/* The layer's blocks for a pass of S streams, in the tiles the plan chose
   (`kind` 1: GRU reset-before's second pass). Returns the first unit of
   the last tile: the new h of the units before it is in tmp. */
static uint32_t
run_tiles(const TileFunc table[4][8], const uint32_t kind,
          const SwFastLayer* const L, Pass* const p, const uint32_t S,
          const SwActivation ract, const SwActivation act)
{
  const SwFastTiling* const tiling = &L->tiling[kind][S - 1U];
  uint32_t                  b      = 0;
  for (uint32_t i = 0; i < tiling->count; ++i) {
    const uint32_t t    = tile_width(tiling, i);
    const bool     last = i + 1U == tiling->count;
    for (uint32_t s = 0; s < S; ++s) {
      p->out[s] = last ? p->h[s] : p->tmp[s];
    }
    table[S - 1U][t - 1U](L, p, b, ract, act);
    if (!last) {
      b += t;
    }
  }
  return b * SW_VL;
}

/* The weights a tile reads (fast_plan.h): floats, or in the compact mode
   IEEE halves or bfloat16 pairs. */
enum { WF_FLOAT, WF_HALF, WF_BF16 };

/* Weight i of an array of floats, or of halves. */
SW_INLINE vf
load_weight(const void* const w, const size_t i, const int wf)
{
  return wf == WF_HALF ? load_half((const uint16_t*)w + i)
                       : load((const float*)w + i);
}

/* The G gate vectors of one row of a block's bfloat16 weights: gates g and
   g + 1 share a run of 2 SW_VL halves; the last of an odd G stands
   alone. */
SW_INLINE void
load_bf16_gates(vf* const m, const uint16_t* const row, const int G)
{
  UNROLL for (int g = 0; g < G; g += 2)
  {
    if (g + 1 < G) {
      load_bf16_pair(row + (size_t)g * SW_VL, &m[g], &m[g + 1]);
    } else {
      m[g] = load_bf16(row + (size_t)g * SW_VL);
    }
  }
}

/* acc[s][t][g] += w_t[k][g] v[s][k] over k < cols, for the T blocks of a
   tile (G gate vectors each): w points at the first block's weights, each
   block's are [cols][G SW_VL] and the next block's lie `stride` floats on. */
SW_INLINE void
accumulate(vf* const acc, const void* const weights, const size_t stride,
           const size_t cols, const float* const* const v, const int S,
           const int T, const int G, const int wf)
{
  const int n = T * G;
  size_t    w = 0; /* element offset of row k of the first block */
  for (size_t k = 0; k < cols; ++k, w += (size_t)G * SW_VL) {
    UNROLL for (int t = 0; t < T; ++t)
    {
      if (wf == WF_BF16) {
        vf m[4];
        load_bf16_gates(m, (const uint16_t*)weights + w + (size_t)t * stride,
                        G);
        UNROLL for (int g = 0; g < G; ++g)
        {
          UNROLL for (int s = 0; s < S; ++s)
          {
            acc[s * n + t * G + g] =
              vfma(m[g], splat(v[s][k]), acc[s * n + t * G + g]);
          }
        }
        continue;
      }
      UNROLL for (int g = 0; g < G; ++g)
      {
        const vf m = load_weight(weights, w + (size_t)t * stride +
                                            (size_t)g * SW_VL, wf);
        UNROLL for (int s = 0; s < S; ++s)
        {
          acc[s * n + t * G + g] = vfma(m, splat(v[s][k]), acc[s * n + t * G + g]);
        }
      }
    }
  }
}

/* The weights of unit block b: inputs, recurrent; 16 bits each in the
   compact mode. */
SW_INLINE const void*
block_x(const SwFastLayer* const L, const uint32_t b, const int G,
        const int wf)
{
  const size_t i = (size_t)b * L->in * (size_t)G * SW_VL;
  return wf != WF_FLOAT ? (const void*)(L->wx_half + i)
                        : (const void*)(L->wx + i);
}

SW_INLINE const void*
block_h(const SwFastLayer* const L, const uint32_t b, const int G,
        const int wf)
{
  const size_t i = (size_t)b * L->units * (size_t)G * SW_VL;
  return wf != WF_FLOAT ? (const void*)(L->wh_half + i)
                        : (const void*)(L->wh + i);
}

/* acc[s n + g] = bias[g] for the tile's n vectors. */
SW_INLINE void
start(vf* const acc, const float* const bias, const int S, const int n)
{
  UNROLL for (int s = 0; s < S; ++s)
  {
    UNROLL for (int g = 0; g < n; ++g)
    {
      acc[s * n + g] = load(bias + (size_t)g * SW_VL);
    }
  }
}

/* ---- LSTM: gates i f g o per block, rows = 4 Up. ----------------------- */

/* The new cell and h of the T blocks of a tile from their gates' sums
   acc[s][t][i f g o]. */
SW_INLINE void
lstm_update(Pass* const p, const int S, const int T, const uint32_t b0,
            const vf* const acc, const SwActivation ract,
            const SwActivation act)
{
  const int n = 4 * T;
  UNROLL for (int s = 0; s < S; ++s)
  {
    UNROLL for (int t = 0; t < T; ++t)
    {
      const int       a    = s * n + 4 * t;
      const size_t    j    = ((size_t)b0 + (size_t)t) * SW_VL;
      const vf        i    = vactivate(ract, acc[a]);
      const vf        f    = vactivate(ract, acc[a + 1]);
      const vf        g    = vactivate(act, acc[a + 2]);
      const vf        o    = vactivate(ract, acc[a + 3]);
      const vf        cell = vfma(f, load(p->c[s] + j), i * g);
      const vf        h    = o * vactivate(act, cell);
      store(p->c[s] + j, cell);
      store(p->out[s] + j, h);
    }
  }
}

SW_INLINE void
lstm_tile(const SwFastLayer* const L, Pass* const p, const int S, const int T,
          const uint32_t b0, const SwActivation ract, const SwActivation act,
          const int wf)
{
  const size_t r0 = (size_t)b0 * 4U * SW_VL;
  const int    n  = 4 * T;
  vf           acc[ACC_BUDGET_ONE];
  start(acc, L->bias + r0, S, n);
  accumulate(acc, block_x(L, b0, 4, wf), (size_t)L->in * 4U * SW_VL, L->in,
             p->x, S, T, 4, wf);
  accumulate(acc, block_h(L, b0, 4, wf), (size_t)L->units * 4U * SW_VL,
             L->units, (const float* const*)p->h, S, T, 4, wf);
  lstm_update(p, S, T, b0, acc, ract, act);
}

/* One stream's block b of a two-chain layer (fast_plan.h): the recurrent
   sums of even inputs go on from the bias and input terms, those of odd
   ones start from zero, and the two are added at the end. */
SW_INLINE void
lstm_two_chain_tile(const SwFastLayer* const L, Pass* const p,
                    const uint32_t b)
{
  vf acc[4], odd[4];
  start(acc, L->bias + (size_t)b * 4U * SW_VL, 1, 4);
  accumulate(acc, block_x(L, b, 4, WF_FLOAT), 0, L->in, p->x, 1, 1, 4,
             WF_FLOAT);
  UNROLL for (int g = 0; g < 4; ++g)
  {
    odd[g] = splat(0.0f);
  }
  const float* const w    = (const float*)block_h(L, b, 4, WF_FLOAT);
  const float* const h    = p->h[0];
  const size_t       row  = 4U * SW_VL;
  const size_t       cols = L->units;
  size_t             k    = 0;
  for (; k + 2U <= cols; k += 2U) {
    const float* const even_row = w + k * row;
    UNROLL for (int g = 0; g < 4; ++g)
    {
      acc[g] = vfma(load(even_row + (size_t)g * SW_VL), splat(h[k]), acc[g]);
      odd[g] = vfma(load(even_row + row + (size_t)g * SW_VL), splat(h[k + 1]),
                    odd[g]);
    }
  }
  if (k < cols) {
    UNROLL for (int g = 0; g < 4; ++g)
    {
      acc[g] = vfma(load(w + k * row + (size_t)g * SW_VL), splat(h[k]), acc[g]);
    }
  }
  UNROLL for (int g = 0; g < 4; ++g)
  {
    acc[g] = acc[g] + odd[g];
  }
  lstm_update(p, 1, 1, b, acc, SW_ACT_SIGMOID, SW_ACT_TANH);
}

/* The usual activations get code of their own; others choose per vector.
   Compact weights: tables of their own, for halves where the kernel set
   converts them. */
TILE_TABLE(lstm_usual, lstm_tile, 4, SW_ACT_SIGMOID, SW_ACT_TANH, WF_FLOAT)
TILE_TABLE(lstm_any, lstm_tile, 4, ract, act, WF_FLOAT)
TILE_TABLE(lstm_usual_bf16, lstm_tile, 4, SW_ACT_SIGMOID, SW_ACT_TANH,
           WF_BF16)
TILE_TABLE(lstm_any_bf16, lstm_tile, 4, ract, act, WF_BF16)
#ifdef SW_HALF_WEIGHTS
TILE_TABLE(lstm_usual_half, lstm_tile, 4, SW_ACT_SIGMOID, SW_ACT_TANH,
           WF_HALF)
TILE_TABLE(lstm_any_half, lstm_tile, 4, ract, act, WF_HALF)
#endif

/* ---- GRU: gates r z n per block, rows = 3 Up. -------------------------- */

/* Reset after (Keras reset_after=True, CuDNNGRU, PyTorch): per block the
   sums r and z (inputs, then h) and the candidate's recurrent part hn, kept
   as acc[s][t][r z hn], and its input part xn[s][t], complete before h is
   read: three accumulators a block while the h products run (xn may wait
   in memory), so one stream's five blocks fit AVX2's budget. */
SW_INLINE void
gru_after_tile(const SwFastLayer* const L, Pass* const p, const int S,
               const int T, const uint32_t b0, const SwActivation ract,
               const SwActivation act, const int wf)
{
  const size_t r0 = (size_t)b0 * 3U * SW_VL;
  const int    n  = 3 * T;
  vf           acc[ACC_BUDGET_ONE];
  vf           xn[ACC_BUDGET_ONE];
  UNROLL for (int s = 0; s < S; ++s)
  {
    UNROLL for (int t = 0; t < T; ++t)
    {
      vf* const    a = &acc[s * n + 3 * t];
      const float* b = L->bias + r0 + (size_t)(3 * t) * SW_VL;
      a[0]           = load(b);
      a[1]           = load(b + SW_VL);
      xn[s * T + t]  = load(b + 2 * SW_VL);
      a[2] = load(L->bias_hn + ((size_t)b0 + (size_t)t) * SW_VL);
    }
  }
  const void* const wx       = block_x(L, b0, 3, wf);
  const size_t      x_stride = (size_t)L->in * 3U * SW_VL;
  size_t            w        = 0;
  for (size_t k = 0; k < L->in; ++k, w += 3U * SW_VL) {
    UNROLL for (int t = 0; t < T; ++t)
    {
      const size_t i = w + (size_t)t * x_stride;
      vf           m[3];
      if (wf == WF_BF16) {
        load_bf16_gates(m, (const uint16_t*)wx + i, 3);
      } else {
        m[0] = load_weight(wx, i, wf);
        m[1] = load_weight(wx, i + SW_VL, wf);
        m[2] = load_weight(wx, i + 2U * SW_VL, wf);
      }
      UNROLL for (int s = 0; s < S; ++s)
      {
        vf* const a   = &acc[s * n + 3 * t];
        const vf  x   = splat(p->x[s][k]);
        a[0]          = vfma(m[0], x, a[0]);
        a[1]          = vfma(m[1], x, a[1]);
        xn[s * T + t] = vfma(m[2], x, xn[s * T + t]);
      }
    }
  }
  accumulate(acc, block_h(L, b0, 3, wf), (size_t)L->units * 3U * SW_VL,
             L->units, (const float* const*)p->h, S, T, 3, wf);
  UNROLL for (int s = 0; s < S; ++s)
  {
    UNROLL for (int t = 0; t < T; ++t)
    {
      const vf* const a = &acc[s * n + 3 * t];
      const size_t    j = ((size_t)b0 + (size_t)t) * SW_VL;
      const vf        r = vactivate(ract, a[0]);
      const vf        z = vactivate(ract, a[1]);
      const vf        c = vactivate(act, vfma(r, a[2], xn[s * T + t]));
      const vf        h = vfma(z, load(p->h[s] + j), (1.0f - z) * c);
      store(p->out[s] + j, h);
    }
  }
}

/* Reset before (Keras reset_after=False): r must be known for every unit
   before the candidate's recurrent product R_n (r h). First pass: r, z and
   the candidate's input part per block (scratch: r h at Up, z at 2 Up, xn at
   3 Up); second pass: that product and the new h. */
SW_INLINE void
gru_before_gates_tile(const SwFastLayer* const L, Pass* const p, const int S,
                      const int T, const uint32_t b0, const SwActivation ract,
                      const SwActivation act)
{
  (void)act;
  const size_t Up = L->padded;
  const size_t r0 = (size_t)b0 * 3U * SW_VL;
  const int    n  = 3 * T;
  vf           acc[ACC_BUDGET_ONE];
  start(acc, L->bias + r0, S, n);
  accumulate(acc, block_x(L, b0, 3, WF_FLOAT), (size_t)L->in * 3U * SW_VL,
             L->in, p->x, S, T, 3, WF_FLOAT);
  const size_t h_stride = (size_t)L->units * 3U * SW_VL;
  const float* w        = L->wh + (size_t)b0 * L->units * 3U * SW_VL;
  for (size_t k = 0; k < L->units; ++k, w += 3U * SW_VL) {
    UNROLL for (int t = 0; t < T; ++t)
    {
      const vf mr = load(w + (size_t)t * h_stride);
      const vf mz = load(w + (size_t)t * h_stride + SW_VL);
      UNROLL for (int s = 0; s < S; ++s)
      {
        vf* const   a = &acc[s * n + 3 * t];
        const float v = p->h[s][k];
        a[0]          = vfma(mr, splat(v), a[0]);
        a[1]          = vfma(mz, splat(v), a[1]);
      }
    }
  }
  UNROLL for (int s = 0; s < S; ++s)
  {
    UNROLL for (int t = 0; t < T; ++t)
    {
      const vf* const a = &acc[s * n + 3 * t];
      const size_t    j = ((size_t)b0 + (size_t)t) * SW_VL;
      store(p->tmp[s] + Up + j, vactivate(ract, a[0]) * load(p->h[s] + j));
      store(p->tmp[s] + 2U * Up + j, vactivate(ract, a[1]));
      store(p->tmp[s] + 3U * Up + j, a[2]);
    }
  }
}

SW_INLINE void
gru_before_state_tile(const SwFastLayer* const L, Pass* const p, const int S,
                      const int T, const uint32_t b0, const SwActivation ract,
                      const SwActivation act)
{
  (void)ract;
  const size_t Up = L->padded;
  vf           acc[ACC_BUDGET_ONE];
  UNROLL for (int s = 0; s < S; ++s)
  {
    UNROLL for (int t = 0; t < T; ++t)
    {
      acc[s * T + t] = load(L->bias_hn + ((size_t)b0 + (size_t)t) * SW_VL);
    }
  }
  const size_t h_stride = (size_t)L->units * 3U * SW_VL;
  const float* w =
    L->wh + (size_t)b0 * L->units * 3U * SW_VL + 2U * SW_VL;
  for (size_t k = 0; k < L->units; ++k, w += 3U * SW_VL) {
    UNROLL for (int t = 0; t < T; ++t)
    {
      const vf m = load(w + (size_t)t * h_stride);
      UNROLL for (int s = 0; s < S; ++s)
      {
        acc[s * T + t] = vfma(m, splat(p->tmp[s][Up + k]), acc[s * T + t]);
      }
    }
  }
  UNROLL for (int s = 0; s < S; ++s)
  {
    UNROLL for (int t = 0; t < T; ++t)
    {
      const size_t j = ((size_t)b0 + (size_t)t) * SW_VL;
      const vf     z = load(p->tmp[s] + 2U * Up + j);
      const vf     c = vactivate(act, load(p->tmp[s] + 3U * Up + j) +
                                        acc[s * T + t]);
      const vf     h = vfma(z, load(p->h[s] + j), (1.0f - z) * c);
      store(p->out[s] + j, h);
    }
  }
}

TILE_TABLE(gru_after_usual, gru_after_tile, 3, SW_ACT_SIGMOID, SW_ACT_TANH,
           WF_FLOAT)
TILE_TABLE(gru_after_any, gru_after_tile, 3, ract, act, WF_FLOAT)
TILE_TABLE(gru_after_usual_bf16, gru_after_tile, 3, SW_ACT_SIGMOID,
           SW_ACT_TANH, WF_BF16)
TILE_TABLE(gru_after_any_bf16, gru_after_tile, 3, ract, act, WF_BF16)
#ifdef SW_HALF_WEIGHTS
TILE_TABLE(gru_after_usual_half, gru_after_tile, 3, SW_ACT_SIGMOID,
           SW_ACT_TANH, WF_HALF)
TILE_TABLE(gru_after_any_half, gru_after_tile, 3, ract, act, WF_HALF)
#endif
TILE_TABLE(gru_before_gates, gru_before_gates_tile, 3, ract, act)
TILE_TABLE(gru_before_state, gru_before_state_tile, 1, ract, act)

/* ---- SimpleRNN and Dense: one row vector per block. -------------------- */

/* h = act(W x + R h + b) (recurrent) or y = act(W x + b) (Dense). */
SW_INLINE void
single_tile(const SwFastLayer* const L, Pass* const p, const int S,
            const int T, const uint32_t b0, const SwActivation act,
            const bool recurrent)
{
  const size_t r0 = (size_t)b0 * SW_VL;
  vf           acc[ACC_BUDGET_ONE];
  start(acc, L->bias + r0, S, T);
  accumulate(acc, block_x(L, b0, 1, WF_FLOAT), (size_t)L->in * SW_VL, L->in,
             p->x, S, T, 1, WF_FLOAT);
  if (recurrent) {
    accumulate(acc, block_h(L, b0, 1, WF_FLOAT), (size_t)L->units * SW_VL,
               L->units, (const float* const*)p->h, S, T, 1, WF_FLOAT);
  }
  UNROLL for (int s = 0; s < S; ++s)
  {
    UNROLL for (int t = 0; t < T; ++t)
    {
      const vf y = vactivate(act, acc[s * T + t]);
      if (recurrent) {
        store(p->out[s] + r0 + (size_t)t * SW_VL, y);
      } else {
        store(p->h[s] + r0 + (size_t)t * SW_VL, y);
      }
    }
  }
}

SW_INLINE void
rnn_tile(const SwFastLayer* const L, Pass* const p, const int S, const int T,
         const uint32_t b0, const SwActivation ract, const SwActivation act)
{
  (void)ract;
  single_tile(L, p, S, T, b0, act, true);
}

SW_INLINE void
dense_tile(const SwFastLayer* const L, Pass* const p, const int S,
           const int T, const uint32_t b0, const SwActivation ract,
           const SwActivation act)
{
  (void)ract;
  single_tile(L, p, S, T, b0, act, false);
}

TILE_TABLE(rnn_tiles, rnn_tile, 1, ract, act)
TILE_TABLE(dense_tiles, dense_tile, 1, ract, act)

/* A Dense layer of fewer outputs than a vector (the usual head): one dot
   product per output over its row of weights ([units][in rounded up to
   SW_VL], the input's padding lanes zero), two partial sums. */
SW_INLINE void
dense_dot(const SwFastLayer* const L, Pass* const p, const int S)
{
  const size_t cols   = L->in_padded;
  const bool   linear = L->activation == SW_ACT_LINEAR ||
                      L->activation == SW_ACT_DEFAULT;
  UNROLL for (int s = 0; s < S; ++s)
  {
    const float* const x = p->x[s];
    for (uint32_t o = 0; o < L->units; ++o) {
      const float* const w  = L->wx + (size_t)o * cols;
      vf                 a0 = splat(0.0f), a1 = splat(0.0f);
      size_t             k  = 0;
      for (; k + 2U * SW_VL <= cols; k += 2U * SW_VL) {
        a0 = vfma(load(w + k), load(x + k), a0);
        a1 = vfma(load(w + k + SW_VL), load(x + k + SW_VL), a1);
      }
      if (k < cols) {
        a0 = vfma(load(w + k), load(x + k), a0);
      }
      const float y = sum_lanes(a0 + a1) + L->bias[o];
      p->h[s][o]    = linear ? y : vactivate(L->activation, splat(y))[0];
    }
  }
}

/* ---- Passes: a layer for S streams, S a constant. ------------------- */

/* The streams' pointers into their work areas for layer L. */
SW_INLINE void
start_pass(Pass* const p, const SwFastLayer* const L, float* const* const work,
           const int S, float* const scratch, const size_t scratch_floats)
{
  UNROLL for (int s = 0; s < S; ++s)
  {
    p->x[s]   = work[s] + L->in_at;
    p->h[s]   = work[s] + L->out_at;
    p->c[s]   = work[s] + L->cell_at;
    p->tmp[s] = scratch + (size_t)s * scratch_floats;
  }
}

/* Lanes that are NaN in a sum of x - x terms: those where some x was Inf or
   NaN (x - x is 0 for every finite x). Additions, not integer tests: the
   adders are the least busy units here. */
SW_INLINE vf
add_nonfinite(const vf sum, const vf x)
{
  return sum + (x - x);
}

/* The new h of the units before `copied` replaces the old only now, after
   every tile has read the old one (the last tile wrote its own in place);
   then the whole new state is checked, an LSTM's cell too (o tanh(c) is
   finite for an infinite c). Returns a bit per stream with an Inf or NaN. */
SW_INLINE uint32_t
finish_pass_from(const SwFastLayer* const L, const Pass* const p,
                 const int S, const bool cell, const uint32_t copy_from,
                 const uint32_t copy_to)
{
  uint32_t bad = 0;
  UNROLL for (int s = 0; s < S; ++s)
  {
    float* const       h   = p->h[s];
    const float* const tmp = p->tmp[s];
    const float* const c   = p->c[s];
    for (size_t j = copy_from; j < copy_to; j += SW_VL) {
      store(h + j, load(tmp + j));
    }
    vf check = splat(0.0f);
    for (size_t j = 0; j < L->padded; j += SW_VL) {
      check = add_nonfinite(check, load(h + j));
      if (cell) {
        check = add_nonfinite(check, load(c + j));
      }
    }
    bad |= (uint32_t)any_lane(check != check) << s;
  }
  return bad;
}

/* finish_pass_from for the units before `copied`. */
SW_INLINE uint32_t
finish_pass(const SwFastLayer* const L, const Pass* const p, const int S,
            const bool cell, const uint32_t copied)
{
  return finish_pass_from(L, p, S, cell, 0, copied);
}

/* A recurrent layer's pass: its tiles from `tables` (kind 0; a second run
   of kind 1 where there is one), then the new state. */
SW_INLINE uint32_t
recurrent_pass(const SwFastLayer* const L, float* const* const work,
               float* const scratch, const size_t scratch_floats, const int S,
               const TileFunc first[4][8], const TileFunc second[4][8],
               const bool cell)
{
  Pass     p;
  start_pass(&p, L, work, S, scratch, scratch_floats);
  uint32_t copied = run_tiles(first, 0, L, &p, (uint32_t)S,
                              L->recurrent_activation, L->activation);
  if (second) {
    copied = run_tiles(second, 1, L, &p, (uint32_t)S,
                       L->recurrent_activation, L->activation);
  }
  return finish_pass(L, &p, S, cell, copied);
}

/* Pass functions for S = 1..4 over tile tables (second: NULL or GRU
   reset-before's second tables), as `name`[S - 1]. */
#define PASS_OF_S(name, first, second, cell, S)                                \
  static uint32_t name##_##S(const SwFastLayer* L, float* const* work,         \
                             float* scratch, size_t scratch_floats)            \
  {                                                                            \
    return recurrent_pass(L, work, scratch, scratch_floats, S, first, second,  \
                          cell);                                               \
  }
#define PASSES(name, first, second, cell)                                      \
  PASS_OF_S(name, first, second, cell, 1)                                      \
  PASS_OF_S(name, first, second, cell, 2)                                      \
  PASS_OF_S(name, first, second, cell, 3)                                      \
  PASS_OF_S(name, first, second, cell, 4)                                      \
  static const SwFastPassFunc name[4] = {name##_1, name##_2, name##_3,         \
                                         name##_4};

PASSES(lstm_usual_passes, lstm_usual, NULL, true)
PASSES(lstm_any_passes, lstm_any, NULL, true)
PASSES(gru_after_usual_passes, gru_after_usual, NULL, false)
PASSES(gru_after_any_passes, gru_after_any, NULL, false)
PASSES(gru_before_passes, gru_before_gates, gru_before_state, false)
PASSES(rnn_passes, rnn_tiles, NULL, false)
PASSES(lstm_usual_bf16_passes, lstm_usual_bf16, NULL, true)
PASSES(lstm_any_bf16_passes, lstm_any_bf16, NULL, true)
PASSES(gru_after_usual_bf16_passes, gru_after_usual_bf16, NULL, false)
PASSES(gru_after_any_bf16_passes, gru_after_any_bf16, NULL, false)
#ifdef SW_HALF_WEIGHTS
PASSES(lstm_usual_half_passes, lstm_usual_half, NULL, true)
PASSES(lstm_any_half_passes, lstm_any_half, NULL, true)
PASSES(gru_after_usual_half_passes, gru_after_usual_half, NULL, false)
PASSES(gru_after_any_half_passes, gru_after_any_half, NULL, false)
#endif

/* Dense layers: the output written in place, nothing to check (no
   state). */
static uint32_t
dense_pass(const SwFastLayer* const L, float* const* const work,
           float* const scratch, const size_t scratch_floats, const int S)
{
  Pass p;
  start_pass(&p, L, work, S, scratch, scratch_floats);
  if (L->dot) {
    dense_dot(L, &p, S);
  } else {
    run_tiles(dense_tiles, 0, L, &p, (uint32_t)S, L->recurrent_activation,
              L->activation);
  }
  return 0;
}

#define DENSE_OF_S(S)                                                          \
  static uint32_t dense_passes_##S(const SwFastLayer* L, float* const* work,   \
                                   float* scratch, size_t scratch_floats)      \
  {                                                                            \
    return dense_pass(L, work, scratch, scratch_floats, S);                    \
  }
DENSE_OF_S(1)
DENSE_OF_S(2)
DENSE_OF_S(3)
DENSE_OF_S(4)
static const SwFastPassFunc dense_passes[4] = {dense_passes_1, dense_passes_2,
                                               dense_passes_3, dense_passes_4};

/* The usual activations get tiles of their own; compact weights too. */
static const SwFastPassFunc*
passes_for(const SwFastLayer* const L)
{
  const bool usual = L->recurrent_activation == SW_ACT_SIGMOID &&
                     L->activation == SW_ACT_TANH;
  switch (L->type) {
  case SW_LAYER_LSTM:
    if (L->wx_half && L->bf16) {
      return usual ? lstm_usual_bf16_passes : lstm_any_bf16_passes;
    }
#ifdef SW_HALF_WEIGHTS
    if (L->wx_half) {
      return usual ? lstm_usual_half_passes : lstm_any_half_passes;
    }
#endif
    return usual ? lstm_usual_passes : lstm_any_passes;
  case SW_LAYER_GRU:
    if (L->gru_reset != SW_GRU_RESET_AFTER) {
      return gru_before_passes;
    }
    if (L->wx_half && L->bf16) {
      return usual ? gru_after_usual_bf16_passes : gru_after_any_bf16_passes;
    }
#ifdef SW_HALF_WEIGHTS
    if (L->wx_half) {
      return usual ? gru_after_usual_half_passes : gru_after_any_half_passes;
    }
#endif
    return usual ? gru_after_usual_passes : gru_after_any_passes;
  case SW_LAYER_SIMPLE_RNN: return rnn_passes;
  case SW_LAYER_DENSE:
  case SW_LAYER_CONV1D: /* never planned (fast_backend.c) */
  default: return dense_passes;
  }
}

void
KERNEL(sw_fast_prepare)(SwFastPlan* const plan)
{
  plan->layer_major = false;
  for (uint32_t l = 0; l < plan->num_layers; ++l) {
    plan->layers[l].passes = passes_for(&plan->layers[l]);
    plan->layer_major |= plan->chunk_frames > 0 && plan->layers[l].two_chains;
  }
}

/* ---- One stream's layers inline. ------------------------------------- */

/* One stream's tile of t blocks from block b with the usual activations,
   its body inline: a case per width the budget allows for G accumulators
   a block (LSTM 4, reset-after GRU 3). */
#define INLINE_TILE(body, G, T)                                                \
  case T:                                                                      \
    if ((G) * (T) <= ACC_BUDGET_ONE) {                                         \
      body(L, p, 1, T, b, SW_ACT_SIGMOID, SW_ACT_TANH, WF_FLOAT);              \
    }                                                                          \
    break;
#define INLINE_TILES(body, G)                                                  \
  INLINE_TILE(body, G, 1)                                                      \
  INLINE_TILE(body, G, 2)                                                      \
  INLINE_TILE(body, G, 3)                                                      \
  INLINE_TILE(body, G, 4)                                                      \
  INLINE_TILE(body, G, 5)                                                      \
  INLINE_TILE(body, G, 6)                                                      \
  INLINE_TILE(body, G, 7)                                                      \
  INLINE_TILE(body, G, 8)

SW_INLINE void
usual_tile_inline(const bool lstm, const SwFastLayer* const L, Pass* const p,
                  const uint32_t t, const uint32_t b)
{
  if (lstm) {
    switch (t) {
      INLINE_TILES(lstm_tile, 4)
    default: break; /* tiles are 1 to 8 blocks wide */
    }
  } else {
    switch (t) {
      INLINE_TILES(gru_after_tile, 3)
    default: break;
    }
  }
}

/* start_pass for one stream, its input at x where x is not NULL (then
   not in the work area). */
SW_INLINE void
start_single_pass(Pass* const p, const SwFastLayer* const L,
                  float* const* const work, float* const scratch,
                  const size_t scratch_floats, const float* const x)
{
  start_pass(p, L, work, 1, scratch, scratch_floats);
  if (x) {
    p->x[0] = x;
  }
}

/* An LSTM or reset-after GRU layer (usual activations, float weights) for
   one stream, as its pass function would run it but with every tile inline:
   the calls and their set-up measured 2-5 % of a small model's time on a
   Zen 3 (LSTM-16 85.3 -> 81.4 ns a sample, LSTM-40 265.6 -> 259.5). x: the
   layer's input where it is not in the work area. */
SW_INLINE uint32_t
usual_layer_inline(const bool lstm, const SwFastLayer* const L,
                   float* const* const work, float* const scratch,
                   const size_t scratch_floats, const float* const x)
{
  Pass p;
  start_single_pass(&p, L, work, scratch, scratch_floats, x);
  const SwFastTiling* const tiling = &L->tiling[0][0];
  uint32_t                  b      = 0;
  for (uint32_t i = 0; i < tiling->count; ++i) {
    const uint32_t t    = tile_width(tiling, i);
    const bool     last = i + 1U == tiling->count;
    p.out[0]            = last ? p.h[0] : p.tmp[0];
    usual_tile_inline(lstm, L, &p, t, b);
    if (!last) {
      b += t;
    }
  }
  return finish_pass(L, &p, 1, lstm, b * SW_VL);
}

/* A two-chain LSTM layer (fast_plan.h) of one stream, a block at a time,
   backwards on odd frames; the block run last writes its h in place, the
   others' is in tmp until every block has read the old h. */
SW_INLINE uint32_t
two_chain_layer(const SwFastLayer* const L, float* const* const work,
                float* const scratch, const size_t scratch_floats,
                const bool backwards, const float* const x)
{
  Pass p;
  start_single_pass(&p, L, work, scratch, scratch_floats, x);
  const uint32_t n = L->blocks;
  for (uint32_t i = 0; i < n; ++i) {
    p.out[0] = i + 1U == n ? p.h[0] : p.tmp[0];
    lstm_two_chain_tile(L, &p, backwards ? n - 1U - i : i);
  }
  return backwards ? finish_pass_from(L, &p, 1, true, SW_VL, L->padded)
                   : finish_pass(L, &p, 1, true, (n - 1U) * SW_VL);
}

/* n floats from `from` to `to`: usually one (mono audio), which gets a
   path of its own (the general loop is vectorized, with checks a single
   float pays for). */
SW_INLINE void
copy_floats(float* const to, const float* const from, const size_t n)
{
  if (n == 1) {
    to[0] = from[0];
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    to[i] = from[i];
  }
}

/* Layer L of one stream (frame t, odd_frame: t odd): a two-chain LSTM
   layer's own way, inline for the usual kinds (LSTM, reset-after GRU, a
   Dense head of dot products), else through its pass function. x: its
   input where that is not in the work area (NULL: it is); y: where its
   output goes as well (NULL: the work area only). Recurrent layers inline
   read x where it is, and a Dense head of dot products writes to y alone: a
   float stored in the work area and loaded back for the output cost a
   one-stream LSTM-16 ~8 % on a Zen 4 (such a reload waits on its store). */
SW_INLINE uint32_t
single_layer(const SwFastLayer* const L, float* const* const work,
             float* const scratch, const size_t scratch_floats,
             const bool odd_frame, const float* const x, float* const y)
{
  float* const out = work[0] + L->out_at;
  uint32_t     bad;
  if (L->two_chains) {
    bad = two_chain_layer(L, work, scratch, scratch_floats, odd_frame, x);
  } else if (L->passes == lstm_usual_passes) {
    bad = usual_layer_inline(true, L, work, scratch, scratch_floats, x);
  } else if (L->passes == gru_after_usual_passes) {
    bad = usual_layer_inline(false, L, work, scratch, scratch_floats, x);
  } else {
    if (x) {
      copy_floats(work[0] + L->in_at, x, L->in);
    }
    if (L->passes == dense_passes && L->dot) {
      Pass p;
      start_pass(&p, L, work, 1, scratch, scratch_floats);
      if (y) {
        p.h[0] = y;
      }
      dense_dot(L, &p, 1);
      return 0;
    }
    bad = L->passes[0](L, work, scratch, scratch_floats);
  }
  if (y) {
    copy_floats(y, out, L->units);
  }
  return bad;
}

/* ---- Frames. --------------------------------------------------------- */

/* Copies the input frame x (n floats) to `to`; returns whether none of
   them is Inf or NaN. */
SW_INLINE bool
take_input(float* const to, const float* const x, const size_t n)
{
  copy_floats(to, x, n);
  return sw_all_finite(x, n);
}

/* sw_fast_run for a single stream (the usual plug-in case): one pass per
   layer, no grouping to work out. */
static uint32_t
run_single(const SwFastPlan* const plan, const SwFastStreams* const io,
           const uint32_t t0, const uint32_t frames, float* const scratch,
           uint32_t* const bad)
{
  const SwFastLayer* const layers = plan->layers;
  const uint32_t           count  = plan->num_layers;
  const size_t             I      = layers[0].in;
  const size_t             O      = layers[count - 1U].units;
  for (uint32_t t = t0; t < frames; ++t) {
    const float* const x = io->in[0] + t * I;
    if (!sw_all_finite(x, I)) {
      *bad = 0;
      return t;
    }
    uint32_t frame_bad = 0;
    for (uint32_t l = 0; l < count; ++l) {
      frame_bad |= single_layer(
        &layers[l], io->work, scratch, plan->scratch_floats, (t & 1U) != 0,
        l == 0 ? x : NULL, l + 1U == count ? io->out[0] + t * O : NULL);
    }
    if (frame_bad) {
      *bad = frame_bad;
      return t;
    }
  }
  *bad = 0;
  return frames;
}

/* The first of frames t .. end - 1 whose input holds an Inf or NaN (end
   if none does). */
static uint32_t
finite_inputs_end(const float* const in, const size_t I, uint32_t t,
                  const uint32_t end)
{
  while (t < end && sw_all_finite(in + t * I, I)) {
    ++t;
  }
  return t;
}

/* sw_fast_run for a single stream, a chunk of frames through each layer in
   turn (fast_plan.h): layer l takes frame u's input from row u of the
   chunk (layer 0: from io->in), where it leaves its output (the last layer:
   in io->out). A layer whose state goes bad at frame u
   ends the chunk there: the stream is reset at u, every layer's state with
   it, so the earlier layers' frames beyond u do not count. */
static uint32_t
run_single_layer_major(const SwFastPlan* const plan,
                       const SwFastStreams* const io, const uint32_t t0,
                       const uint32_t frames, float* const scratch,
                       uint32_t* const bad)
{
  const SwFastLayer* const layers = plan->layers;
  const uint32_t           count  = plan->num_layers;
  const size_t             I      = layers[0].in;
  const size_t             O      = layers[count - 1U].units;
  float* const             rows =
    scratch + SW_FAST_GROUP * plan->scratch_floats;
  for (uint32_t t = t0; t < frames;) {
    const uint32_t most = frames - t < plan->chunk_frames
                            ? frames - t
                            : plan->chunk_frames;
    uint32_t end = finite_inputs_end(io->in[0], I, t, t + most);
    if (end == t) {
      *bad = 0;
      return t;
    }
    uint32_t chunk_bad = 0;
    for (uint32_t l = 0; l < count; ++l) {
      const SwFastLayer* const L    = &layers[l];
      const bool               last = l + 1U == count;
      for (uint32_t u = t; u < end; ++u) {
        float* const   row       = rows + (u - t) * plan->chunk_stride;
        const uint32_t frame_bad = single_layer(
          L, io->work, scratch, plan->scratch_floats, (u & 1U) != 0,
          l == 0 ? io->in[0] + u * I : row, last ? io->out[0] + u * O : row);
        if (frame_bad) {
          chunk_bad = frame_bad;
          end       = u + 1U;
          break;
        }
      }
    }
    if (chunk_bad) {
      *bad = chunk_bad;
      return end - 1U;
    }
    t = end;
  }
  *bad = 0;
  return frames;
}

uint32_t
KERNEL(sw_fast_run)(const SwFastPlan* const plan,
                    const SwFastStreams* const io, const uint32_t t0,
                    const uint32_t frames, float* const scratch,
                    uint32_t* const bad)
{
  if (io->streams == 1 && plan->layer_major) {
    return run_single_layer_major(plan, io, t0, frames, scratch, bad);
  }
  if (io->streams == 1) {
    return run_single(plan, io, t0, frames, scratch, bad);
  }
  const uint32_t           streams = io->streams;
  const SwFastLayer* const first   = &plan->layers[0];
  const SwFastLayer* const last    = &plan->layers[plan->num_layers - 1U];
  const size_t             I       = first->in;
  const size_t             O       = last->units;
  /* Passes of at most PASS_STREAMS streams, as even as can be (4 streams
     with a budget for 3: 2 + 2). */
  const uint32_t passes = (streams + PASS_STREAMS - 1U) / PASS_STREAMS;
  const uint32_t first_size = (streams + passes - 1U) / passes;
  for (uint32_t t = t0; t < frames; ++t) {
    for (uint32_t s = 0; s < streams; ++s) {
      if (!take_input(io->work[s] + first->in_at, io->in[s] + t * I, I)) {
        *bad = 0;
        return t;
      }
    }
    uint32_t frame_bad = 0;
    for (uint32_t l = 0; l < plan->num_layers; ++l) {
      for (uint32_t p0 = 0; p0 < streams; p0 += first_size) {
        const uint32_t S =
          streams - p0 < first_size ? streams - p0 : first_size;
        const SwFastLayer* const L = &plan->layers[l];
        frame_bad |= L->passes[S - 1U](L, io->work + p0,
                                       scratch + (size_t)p0 *
                                                   plan->scratch_floats,
                                       plan->scratch_floats)
                     << p0;
      }
    }
    for (uint32_t s = 0; s < streams; ++s) {
      copy_floats(io->out[s] + t * O, io->work[s] + last->out_at, O);
    }
    if (frame_bad) {
      *bad = frame_bad;
      return t;
    }
  }
  *bad = 0;
  return frames;
}

void
KERNEL(sw_fast_tanh)(const float* in, float* out, const size_t n)
{
  for (size_t i = 0; i < n; i += SW_VL) {
    store(out + i, vtanh(load(in + i)));
  }
}

void
KERNEL(sw_fast_sigmoid)(const float* in, float* out, const size_t n)
{
  for (size_t i = 0; i < n; i += SW_VL) {
    store(out + i, vsigmoid(load(in + i)));
  }
}

/* The fast CPU backend's kernels, written once with GCC/Clang vector
   extensions and built once per instruction set (see engine/meson.build):
   SW_VL floats per vector, SW_KERNEL_ISA the name suffix. Weights are laid
   out by fast_plan (transposed, gate blocks padded to 16 units), so every
   loop runs over whole vectors.

   Matrix-vector products broadcast one input at a time against a vector of
   output rows (no horizontal sums), four row vectors per stream at once so
   the multiply-adds of one row never wait on each other, and up to two
   streams per pass over the weights (the weights are read once for both).

   tanh and sigmoid come from one exp: a Cody-Waite range reduction and
   Cephes's degree-6 polynomial (about 1 ulp), then
     tanh(x) = 1 - 2 / (exp(2x) + 1),  sigmoid(x) = 1 / (1 + exp(-x)),
   the divisions as a reciprocal estimate and one Newton step,
   whose absolute error is below 2e-6 over the real line (checked by the
   test against libm) and which saturate exactly: exp's input is clamped to
   [-87.3, 88.3], so tanh(+-large) is +-1 and sigmoid(large) is 1 exactly,
   sigmoid(-large) underflows to 0 (denormals are flushed in process calls). */

#include "activation.h"
#include "fast_plan.h"

#include <string.h>

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define KERNEL(name) CAT(name, SW_KERNEL_ISA)

typedef float   vf __attribute__((vector_size(SW_VL * 4)));
typedef int32_t vi __attribute__((vector_size(SW_VL * 4)));

static inline vf
load(const float* p)
{
  vf v;
  memcpy(&v, p, sizeof(v));
  return v;
}

static inline void
store(float* p, const vf v)
{
  memcpy(p, &v, sizeof(v));
}

static inline vf
splat(const float x)
{
  return (vf){0} + x;
}

/* Lanes of a where m is all ones, else of b. */
static inline vf
select_lanes(const vi m, const vf a, const vf b)
{
  return (vf)(((vi)a & m) | ((vi)b & ~m));
}

static inline vf
vmin(const vf a, const vf b)
{
  return select_lanes(a < b, a, b);
}

static inline vf
vmax(const vf a, const vf b)
{
  return select_lanes(a > b, a, b);
}

static inline vf
vexp(vf x)
{
  x = vmin(vmax(x, splat(-87.3f)), splat(88.3f));
  /* n = round(x / ln 2): adding and removing 1.5 * 2^23 rounds to nearest. */
  const vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const vf r = x - n * 0.693359375f + n * 2.12194440e-4f;
  vf       p = splat(1.9875691500e-4f);
  p          = p * r + 1.3981999507e-3f;
  p          = p * r + 8.3334519073e-3f;
  p          = p * r + 4.1665795894e-2f;
  p          = p * r + 1.6666665459e-1f;
  p          = p * r + 5.0000001201e-1f;
  p          = p * (r * r) + r + 1.0f;
  const vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  return p * (vf)e;
}

/* 1 / d for d >= 1: the hardware's reciprocal estimate (12 or 14 bits)
   refined by one Newton step to about 23 bits, far cheaper than a
   division; a plain division where there is no estimate. */
#if defined(__AVX512F__) && SW_VL == 16
#  include <immintrin.h>
#  define RECIP_ESTIMATE(d) ((vf)_mm512_rcp14_ps((__m512)(d)))
#elif defined(__AVX__) && SW_VL == 8
#  include <immintrin.h>
#  define RECIP_ESTIMATE(d) ((vf)_mm256_rcp_ps((__m256)(d)))
#elif defined(__SSE__) && SW_VL == 4
#  include <xmmintrin.h>
#  define RECIP_ESTIMATE(d) ((vf)_mm_rcp_ps((__m128)(d)))
#endif

static inline vf
vrecip(const vf d)
{
#ifdef RECIP_ESTIMATE
  const vf r = RECIP_ESTIMATE(d);
  /* r (2 - d r); an infinite d gives r = 0, which stays 0, and d = 1 (the
     saturated end of tanh and sigmoid) gives exactly 1. */
  const vf refined = select_lanes(r == 0.0f, r, r * (2.0f - d * r));
  return select_lanes(d == 1.0f, splat(1.0f), refined);
#else
  return 1.0f / d;
#endif
}

static inline vf
vsigmoid(const vf x)
{
  return vrecip(1.0f + vexp(-x));
}

static inline vf
vtanh(const vf x)
{
  return 1.0f - 2.0f * vrecip(vexp(x + x) + 1.0f);
}

static inline vf
vactivate(const SwActivation act, const vf x)
{
  switch (act) {
  case SW_ACT_TANH: return vtanh(x);
  case SW_ACT_SIGMOID: return vsigmoid(x);
  case SW_ACT_RELU: return vmax(x, splat(0.0f));
  case SW_ACT_HARD_SIGMOID:
    return vmin(vmax(x * 0.2f + 0.5f, splat(0.0f)), splat(1.0f));
  case SW_ACT_HARD_SIGMOID_K3:
    return vmin(vmax(x / 6.0f + 0.5f, splat(0.0f)), splat(1.0f));
  case SW_ACT_DEFAULT:
  case SW_ACT_LINEAR: return x;
  default: {
    /* The rare ones (elu, selu, softsign, softplus, swish): exact, lane
       by lane. */
    float lanes[SW_VL];
    store(lanes, x);
    for (int i = 0; i < SW_VL; ++i) {
      lanes[i] = sw_activate(act, lanes[i]);
    }
    return load(lanes);
  }
  }
}

static void
activate_rows(const SwActivation act, float* const x, const size_t n)
{
  for (size_t i = 0; i < n; i += SW_VL) {
    store(x + i, vactivate(act, load(x + i)));
  }
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

/* out_s = init + WT^T v_s for streams s < S (1..4): WT is [cols][rows],
   rows a multiple of 16. Eight accumulators in flight (one stream: eight
   row vectors; two: four each; three or four: two each), so no
   multiply-add waits on the one before, and every row of weights read from
   memory serves every stream of the group. */
static inline void
gemv_tile(const float* const wt, const size_t rows, const size_t cols,
          const float* const init, const float* const* const v,
          float* const* const out, const uint32_t S, const size_t r0,
          const int tile)
{
  vf acc[4][8];
  for (uint32_t s = 0; s < S; ++s) {
    for (int i = 0; i < tile; ++i) {
      acc[s][i] = init ? load(init + r0 + (size_t)i * SW_VL) : splat(0.0f);
    }
  }
  const float* w = wt + r0;
  for (size_t k = 0; k < cols; ++k, w += rows) {
    vf m[8];
    for (int i = 0; i < tile; ++i) {
      m[i] = load(w + (size_t)i * SW_VL);
    }
    for (uint32_t s = 0; s < S; ++s) {
      const float x = v[s][k];
      for (int i = 0; i < tile; ++i) {
        acc[s][i] = acc[s][i] + m[i] * x;
      }
    }
  }
  for (uint32_t s = 0; s < S; ++s) {
    for (int i = 0; i < tile; ++i) {
      store(out[s] + r0 + (size_t)i * SW_VL, acc[s][i]);
    }
  }
}

/* A narrow output (rows <= 16: a Dense head): four partial sums over the
   inputs instead of one long chain of dependent multiply-adds. Chosen by
   the layer's shape, never by the stream count, so a stream's output does
   not depend on which streams share its pass. */
static void
gemv_narrow(const float* const wt, const size_t rows, const size_t cols,
            const float* const init, const float* const v, float* const out)
{
  for (size_t r0 = 0; r0 < rows; r0 += SW_VL) {
    vf           acc[4] = {splat(0.0f), splat(0.0f), splat(0.0f), splat(0.0f)};
    const float* w      = wt + r0;
    size_t       k      = 0;
    for (; k + 4U <= cols; k += 4U, w += 4U * rows) {
      for (int j = 0; j < 4; ++j) {
        acc[j] = acc[j] + load(w + (size_t)j * rows) * v[k + (size_t)j];
      }
    }
    for (; k < cols; ++k, w += rows) {
      acc[0] = acc[0] + load(w) * v[k];
    }
    const vf sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    store(out + r0, init ? load(init + r0) + sum : sum);
  }
}

static void
gemv(const float* const wt, const size_t rows, const size_t cols,
     const float* const init, const float* const* const v,
     float* const* const out, const uint32_t S)
{
  if (rows <= SW_FAST_PAD) {
    for (uint32_t s = 0; s < S; ++s) {
      gemv_narrow(wt, rows, cols, init, v[s], out[s]);
    }
    return;
  }
  /* Every other row is one chain over the inputs in order, whatever the
     tile: the stream count changes the grouping, never the arithmetic. */
  size_t r0 = 0;
  switch (S) {
  case 1:
    for (; r0 + 8U * SW_VL <= rows; r0 += 8U * SW_VL) {
      gemv_tile(wt, rows, cols, init, v, out, 1, r0, 8);
    }
    break;
  case 2:
    for (; r0 + 4U * SW_VL <= rows; r0 += 4U * SW_VL) {
      gemv_tile(wt, rows, cols, init, v, out, 2, r0, 4);
    }
    break;
  case 3:
    for (; r0 + 2U * SW_VL <= rows; r0 += 2U * SW_VL) {
      gemv_tile(wt, rows, cols, init, v, out, 3, r0, 2);
    }
    break;
  default:
    for (; r0 + 2U * SW_VL <= rows; r0 += 2U * SW_VL) {
      gemv_tile(wt, rows, cols, init, v, out, 4, r0, 2);
    }
    break;
  }
  for (; r0 < rows; r0 += SW_VL) {
    gemv_tile(wt, rows, cols, init, v, out, S, r0, 1);
  }
}

static void
lstm(const SwFastLayer* const L, float* const* const work, const uint32_t S,
     float* const scratch)
{
  const size_t Up   = L->padded;
  const float* v[4] = {NULL, NULL, NULL, NULL};
  float*       a[4] = {NULL, NULL, NULL, NULL};
  for (uint32_t s = 0; s < S; ++s) {
    v[s] = work[s] + L->vec;
    a[s] = scratch + s * L->rows;
  }
  gemv(L->wt, L->rows, L->in + L->units, L->bias, v, a, S);
  for (uint32_t s = 0; s < S; ++s) {
    float* const h = work[s] + L->vec + L->in;
    float* const c = work[s] + L->cell;
    for (size_t j = 0; j < Up; j += SW_VL) {
      const vf i_gate = vactivate(L->recurrent_activation, load(a[s] + j));
      const vf f_gate = vactivate(L->recurrent_activation, load(a[s] + Up + j));
      const vf g_cand = vactivate(L->activation, load(a[s] + 2U * Up + j));
      const vf o_gate =
        vactivate(L->recurrent_activation, load(a[s] + 3U * Up + j));
      const vf cell = f_gate * load(c + j) + i_gate * g_cand;
      store(c + j, cell);
      store(h + j, o_gate * vactivate(L->activation, cell));
    }
  }
}

static void
gru(const SwFastLayer* const L, float* const* const work, const uint32_t S,
    float* const scratch)
{
  const size_t Up = L->padded;
  const float* x[4]  = {NULL, NULL, NULL, NULL};
  const float* hv[4] = {NULL, NULL, NULL, NULL};
  float*       xa[4] = {NULL, NULL, NULL, NULL};
  float*       ha[4] = {NULL, NULL, NULL, NULL};
  float*       rh[4] = {NULL, NULL, NULL, NULL};
  for (uint32_t s = 0; s < S; ++s) {
    x[s]  = work[s] + L->vec;
    hv[s] = work[s] + L->vec + L->in;
    xa[s] = scratch + s * 7U * Up; /* W x + bW: r, z, n */
    ha[s] = xa[s] + 3U * Up;       /* R h + bR: r, z, n */
    rh[s] = ha[s] + 3U * Up;       /* r * h (reset before) */
  }
  gemv(L->wt, 3U * Up, L->in, L->bias, x, xa, S);
  if (L->gru_reset == SW_GRU_RESET_AFTER) {
    gemv(L->wt_h, 3U * Up, L->units, L->bias_h, hv, ha, S);
    for (uint32_t s = 0; s < S; ++s) {
      float* const h = work[s] + L->vec + L->in;
      for (size_t j = 0; j < Up; j += SW_VL) {
        const vf r = vactivate(L->recurrent_activation,
                               load(xa[s] + j) + load(ha[s] + j));
        const vf z = vactivate(L->recurrent_activation,
                               load(xa[s] + Up + j) + load(ha[s] + Up + j));
        const vf n = vactivate(L->activation, load(xa[s] + 2U * Up + j) +
                                                r * load(ha[s] + 2U * Up + j));
        store(h + j, (1.0f - z) * n + z * load(h + j));
      }
    }
    return;
  }
  /* Reset before: r scales h ahead of the candidate's recurrent product;
     wt_h's n block is read as its own [U][3Up] slice from column 2Up. */
  float* hr[4] = {NULL, NULL, NULL, NULL};
  float* hn[4] = {NULL, NULL, NULL, NULL};
  for (uint32_t s = 0; s < S; ++s) {
    hr[s] = ha[s];
    hn[s] = ha[s] + 2U * Up;
  }
  /* r and z: the first 2Up columns of each row of wt_h. */
  for (uint32_t s = 0; s < S; ++s) {
    for (size_t r0 = 0; r0 < 2U * Up; r0 += SW_VL) {
      vf           acc = load(L->bias_h + r0);
      const float* w   = L->wt_h + r0;
      for (size_t k = 0; k < L->units; ++k, w += 3U * Up) {
        acc = acc + load(w) * hv[s][k];
      }
      store(hr[s] + r0, acc);
    }
    for (size_t j = 0; j < Up; j += SW_VL) {
      const vf r = vactivate(L->recurrent_activation,
                             load(xa[s] + j) + load(hr[s] + j));
      store(rh[s] + j, r * load(hv[s] + j));
    }
    for (size_t r0 = 0; r0 < Up; r0 += SW_VL) {
      vf           acc = load(L->bias_h + 2U * Up + r0);
      const float* w   = L->wt_h + 2U * Up + r0;
      for (size_t k = 0; k < L->units; ++k, w += 3U * Up) {
        acc = acc + load(w) * rh[s][k];
      }
      store(hn[s] + r0, acc);
    }
    float* const h = work[s] + L->vec + L->in;
    for (size_t j = 0; j < Up; j += SW_VL) {
      const vf z = vactivate(L->recurrent_activation,
                             load(xa[s] + Up + j) + load(hr[s] + Up + j));
      const vf n = vactivate(L->activation,
                             load(xa[s] + 2U * Up + j) + load(hn[s] + j));
      store(h + j, z * load(h + j) + (1.0f - z) * n);
    }
  }
}

static void
simple_rnn(const SwFastLayer* const L, float* const* const work,
           const uint32_t S, float* const scratch)
{
  const float* v[4] = {NULL, NULL, NULL, NULL};
  float*       a[4] = {NULL, NULL, NULL, NULL};
  for (uint32_t s = 0; s < S; ++s) {
    v[s] = work[s] + L->vec;
    a[s] = scratch + s * L->rows;
  }
  gemv(L->wt, L->rows, L->in + L->units, L->bias, v, a, S);
  for (uint32_t s = 0; s < S; ++s) {
    activate_rows(L->activation, a[s], L->rows);
    memcpy(work[s] + L->vec + L->in, a[s], L->rows * sizeof(float));
  }
}

static void
dense(const SwFastLayer* const L, float* const* const work, const uint32_t S)
{
  const float* v[4] = {NULL, NULL, NULL, NULL};
  float*       y[4] = {NULL, NULL, NULL, NULL};
  for (uint32_t s = 0; s < S; ++s) {
    v[s] = work[s] + L->vec;
    y[s] = work[s] + L->out;
  }
  gemv(L->wt, L->rows, L->in, L->bias, v, y, S);
  for (uint32_t s = 0; s < S; ++s) {
    activate_rows(L->activation, y[s], L->rows);
  }
}

void
KERNEL(sw_fast_frame)(const SwFastPlan* const plan, float* const* const work,
                      const uint32_t S, float* const scratch)
{
  for (uint32_t l = 0; l < plan->num_layers; ++l) {
    const SwFastLayer* const L = &plan->layers[l];
    if (l > 0) {
      /* This layer's input is the previous layer's output. */
      const SwFastLayer* const P = &plan->layers[l - 1U];
      for (uint32_t s = 0; s < S; ++s) {
        const float* const y = work[s] + (P->type == SW_LAYER_DENSE
                                            ? P->out
                                            : P->vec + P->in);
        memcpy(work[s] + L->vec, y, L->in * sizeof(float));
      }
    }
    switch (L->type) {
    case SW_LAYER_LSTM: lstm(L, work, S, scratch); break;
    case SW_LAYER_GRU: gru(L, work, S, scratch); break;
    case SW_LAYER_SIMPLE_RNN: simple_rnn(L, work, S, scratch); break;
    case SW_LAYER_DENSE: dense(L, work, S); break;
    case SW_LAYER_CONV1D: break; /* never planned (fast_backend.c) */
    }
  }
}

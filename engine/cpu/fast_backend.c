/* The CPU backend ("cpu"): every stream stepped frame by frame through SIMD
   kernels chosen at run time from the CPU's features (AVX-512, AVX2+FMA,
   SSE2; NEON on aarch64) and, where 512-bit vectors are split in two, the
   work (choose_kernels()), over a layout made for them at creation
   (fast_plan.h). Streams of a model whose weights outgrow L1 run up to
   four at a time through the same weights (group_for()).
   Models it has no kernels for (Conv1D layers, windowed models) run on the
   scalar reference ("cpu-ref", cpu_backend.c) inside it. The environment
   variable STATEWAVE_CPU_KERNELS (sse2, avx2, avx512vl, avx512, vec16,
   neon, generic) forces a kernel set the CPU has, and STATEWAVE_CPU_GROUP
   (1..4) the streams per kernel call, for tests and measurements. */

#include "backend.h"
#include "error.h"
#include "finite.h"
#include "fast_plan.h"
#include "model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char*     name;
  uint32_t        vl; /* floats per vector: the plan's padding */
  uint32_t        regs; /* vector registers: the tiles' budget */
  void (*prepare)(SwFastPlan*);
  SwFastRunFunc   run;
  bool (*supported)(void);
  bool (*converts_halves)(void); /* the compact mode; NULL: never */
  const char*     half_name;       /* its name in the compact mode */
  const char*     bf16_name;       /* with bfloat16 weights */
  bool            forced_only; /* only when STATEWAVE_CPU_KERNELS asks */
} KernelSet;

#if defined(__x86_64__) || defined(_M_X64)
#  include <cpuid.h>

static bool
have_sse2(void)
{
  return true;
}
static bool
have_avx2(void)
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static bool
have_avx512(void)
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}
/* cpuid leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports has no
   "f16c"). */
static bool
have_f16c(void)
{
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
/* AVX-512 at 256 bits: its 32 registers, AVX2's vectors; F16C for the
   compact mode's halves (every AVX-512 CPU has it). */
static bool
have_avx512vl(void)
{
  __builtin_cpu_init();
  return have_avx512() && __builtin_cpu_supports("avx512vl") && have_f16c();
}
/* AMD family 19h (Zen 3 and Zen 4): Zen 4, the one with AVX-512, runs
   each 512-bit operation as two 256-bit halves, so AVX-512 brings fewer
   instructions and more registers, not more arithmetic. */
static bool
splits_512_bit_vectors(void)
{
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx) || ebx != signature_AMD_ebx ||
      edx != signature_AMD_edx || ecx != signature_AMD_ecx ||
      !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
    return false;
  }
  const unsigned int base = (eax >> 8) & 0xFU;
  const unsigned int family =
    base == 0xFU ? base + ((eax >> 20) & 0xFFU) : base;
  return family == 0x19U;
}
/* Best first; vec16 (the portable code at AVX-512's 16 lanes, built for
   AVX2) only for tests of that layout on CPUs without AVX-512. */
static const KernelSet kernel_sets[] = {
  {"avx512", 16, 32, sw_fast_prepare_avx512, sw_fast_run_avx512, have_avx512, have_avx512, "avx512-fp16", "avx512-bf16", false},
  {"avx512vl", 8, 32, sw_fast_prepare_avx512vl, sw_fast_run_avx512vl, have_avx512vl, have_avx512vl, "avx512vl-fp16", "avx512vl-bf16", false},
  {"avx2", 8, 16, sw_fast_prepare_avx2, sw_fast_run_avx2, have_avx2, have_f16c, "avx2-fp16", "avx2-bf16", false},
  {"sse2", 4, 16, sw_fast_prepare_sse2, sw_fast_run_sse2, have_sse2, NULL, NULL, "sse2-bf16", false},
  {"vec16", 16, 32, sw_fast_prepare_vec16, sw_fast_run_vec16, have_avx2, NULL, NULL, "vec16-bf16", true},
};
#elif defined(__aarch64__)
static bool
have_neon(void)
{
  return true;
}
static const KernelSet kernel_sets[] = {
  {"neon", 4, 16, sw_fast_prepare_neon, sw_fast_run_neon, have_neon, have_neon, "neon-fp16", "neon-bf16", false},
};
#else
static bool
have_generic(void)
{
  return true;
}
static const KernelSet kernel_sets[] = {
  {"generic", 4, 16, sw_fast_prepare_generic, sw_fast_run_generic, have_generic, NULL, NULL, "generic-bf16", false},
};
#endif

#define NUM_KERNEL_SETS (sizeof(kernel_sets) / sizeof(kernel_sets[0]))

/* Weights that stay in L1 (32 KB on the x86-64 and Arm cores of the day,
   less room for the state) are read at almost no cost, so passes of
   several streams through them save nothing and lengthen each stream's
   chain of dependent steps; larger ones come from L2, once per pass.
   Measured on a Zen 3, ns per stream's sample with 2 streams in one pass
   and in two: LSTM-40 (26 KB) 307 and 286, GRU-40 (20 KB) 255 and 235,
   LSTM-48 (38 KB) 410 and 425, LSTM-64 (66 KB) 658 and 825. */
#define L1_WEIGHT_BYTES (28U * 1024U)

/* Whether `streams` streams of the model are each a chain of dependent
   steps with little beside it to overlap: one stream, or two whose weights
   stay in L1 (each then runs alone through them). On a CPU that splits
   512-bit vectors 8-lane kernels run these faster than the 16-lane AVX-512
   ones: eight independent multiply-add chains a block of units rather
   than four, and less padding (LSTM-40: 40 units, not 48). Measured on a
   Zen 4 (EPYC, KVM guest), ns a stream's sample, fastest of 5 interleaved
   runs, avx512 against avx2: LSTM-40 262 -> 223, GRU-40 193 -> 166,
   LSTM-16 94 -> 71, LSTM-128 2480 -> 2460, 2 x LSTM-64 1835 -> 1871,
   LSTM-128 with half weights 2401 -> 1614, two streams of LSTM-40 260 ->
   223; and avx512vl, AVX2's 8 lanes with AVX-512's 32 registers (wider
   tiles: LSTM-40 in one), against avx2: LSTM-40 224 -> 212, GRU-40 167 ->
   159, LSTM-16 72 -> 71, LSTM-128 and 2 x LSTM-64 within the noise. With
   more streams avx512 is ahead (8 of LSTM-40 211 against avx2's 223, 2 of
   LSTM-128 1608 against 1730). */
static bool
latency_bound(const SwModel* const model, const uint32_t streams)
{
  return streams == 1U ||
         (streams == 2U &&
          model->num_params * sizeof(float) <= L1_WEIGHT_BYTES);
}

/* STATEWAVE_CPU_KERNELS if set and supported, else the best set the CPU
   has. */
static const KernelSet*
best_kernels(void)
{
  const char* const forced = getenv("STATEWAVE_CPU_KERNELS");
  for (size_t i = 0; forced && i < NUM_KERNEL_SETS; ++i) {
    if (!strcmp(forced, kernel_sets[i].name) && kernel_sets[i].supported()) {
      return &kernel_sets[i];
    }
  }
  /* The last set that is not forced_only runs on every CPU of the
     architecture (sse2, neon, generic), so the search ends there. */
  size_t i = 0;
  while (kernel_sets[i].forced_only || !kernel_sets[i].supported()) {
    ++i;
  }
  return &kernel_sets[i];
}

/* Whether avx512vl takes the place of the best set, avx512, for engines
   that are latency_bound(). */
static bool
narrow_when_latency_bound(const KernelSet* const best)
{
#if defined(__x86_64__) || defined(_M_X64)
  const char* const forced = getenv("STATEWAVE_CPU_KERNELS");
  return !(forced && !strcmp(forced, best->name)) &&
         !strcmp(best->name, "avx512") && best[1].supported() &&
         splits_512_bit_vectors();
#else
  (void)best;
  return false;
#endif
}

/* The kernel set for `streams` streams of the model with weights in
   `format`. Bfloat16 weights are widened by shifts and masks, which the
   16-lane set does with half the instructions, and its bias holds where
   the weights come from L2 even for one stream. Measured on the Zen 4,
   ns a sample, avx512 against avx512vl, bfloat16 weights: LSTM-128 1457
   and 1580, GRU-128 1477 and 1913, LSTM-64 457 and 509, LSTM-48 273 and
   373; in L1, LSTM-40 265 and 226, LSTM-16 85 and 72. (Halves do better
   at 8 lanes: LSTM-128 2468 and 1689, vcvtph2ps being slow at 512.) */
static const KernelSet*
choose_kernels(const SwModel* const model, const uint32_t streams,
               const SwWeightFormat format)
{
  const KernelSet* const best = best_kernels();
  const bool             wide_bf16 =
    format == SW_WEIGHTS_BF16 &&
    model->num_params * sizeof(float) > L1_WEIGHT_BYTES;
  if (narrow_when_latency_bound(best) && latency_bound(model, streams) &&
      !wide_bf16) {
    return best + 1; /* avx512vl, next in the list */
  }
  return best;
}

typedef struct {
  const SwModel*   model;
  uint32_t         streams;
  const KernelSet* kernels;
  SwFastPlan       plan;
  float*           weights; /* every layer's wt/bias, one aligned block */
  uint16_t*        halves;  /* the compact mode's weights, or NULL */
  bool             bf16;    /* halves holds bfloat16 (fast_plan.h) */
  uint32_t         group;   /* streams handed to the kernels at once */
  float*           work;    /* [streams][plan.work_floats] */
  float*           scratch; /* SW_FAST_GROUP * plan.scratch_floats */
  void*            reference; /* cpu-ref context for models without kernels */
} FastContext;

static size_t
round_up(const size_t n, const size_t to)
{
  return (n + to - 1U) / to * to;
}

/* Models the kernels cover: streaming, no Conv1D. */
static bool
has_kernels_for(const SwModel* const model)
{
  if (model->window) {
    return false;
  }
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    if (model->layers[l].type == SW_LAYER_CONV1D) {
      return false;
    }
  }
  return true;
}

static void
fast_destroy(void* const context)
{
  FastContext* const fast = (FastContext*)context;
  if (!fast) {
    return;
  }
  if (fast->reference) {
    sw_cpu_ref_backend.destroy(fast->reference);
  }
  free(fast->plan.layers);
  free(fast->weights);
  free(fast->halves);
  free(fast->work);
  free(fast->scratch);
  free(fast);
}

/* Floats are placed in 64-byte units: every vector load of a weight row or
   a work vector is aligned and stays inside its allocation. */
#define ALIGN_FLOATS 16U

/* Frames an engine of one stream runs through a layer before the next
   (fast_plan.h): the first block of each frame but the first is read
   again from L1. */
#define CHUNK_FRAMES 16U

/* Accumulators per unit block in the layer's passes (0: no such pass). */
static uint32_t
accumulators_per_block(const SwFastLayer* const f, const uint32_t kind)
{
  switch (f->type) {
  case SW_LAYER_LSTM: return kind == 0 ? 4U : 0U;
  case SW_LAYER_GRU:
    if (f->gru_reset == SW_GRU_RESET_AFTER) {
      return kind == 0 ? 3U : 0U;
    }
    return kind == 0 ? 3U : 1U;
  case SW_LAYER_SIMPLE_RNN: return kind == 0 ? 1U : 0U;
  default: return kind == 0 && !f->dot ? 1U : 0U;
  }
}

/* One stream's LSTM or GRU layer whose float weights are far beyond L1
   reads them from L2 every frame, and does best with narrower tiles than
   the budget allows (fewer runs of weights read at once), measured on a
   Zen 3 with AVX2, ns a sample. LSTM, one block (one sequential run, though
   only four sums in flight) against three: LSTM-128 3017 -> 2818, LSTM-96
   1746 -> 1637, 2 x LSTM-64 2302 -> 2167, LSTM-64 (66 KB) 809 -> 785.
   Reset-after GRU, three blocks against four or five: GRU-128 2256 ->
   2203, GRU-96 1309 -> 1272 (one block: 3225). Not where the arithmetic is
   the bound: LSTM-48 (38 KB) 401 -> 479, LSTM-128 with half weights 1934
   -> 2967, and on SSE2 (4 lanes, no FMA) 4862 -> 5474. Returns the widest
   tile for such a layer, else 0. */
#define L2_STREAM_BYTES (64U * 1024U)

static uint32_t
l2_stream_tile_blocks(const SwFastLayer* const f, const uint32_t vl)
{
  const uint32_t gates = f->type == SW_LAYER_LSTM ? 4U : 3U;
  const size_t   bytes =
    (size_t)(f->in + f->units) * gates * f->padded * sizeof(float);
  if (f->wx_half || vl < 8U || bytes <= L2_STREAM_BYTES) {
    return 0;
  }
  if (f->type == SW_LAYER_LSTM) {
    return 1;
  }
  return f->type == SW_LAYER_GRU && f->gru_reset == SW_GRU_RESET_AFTER ? 3U
                                                                       : 0U;
}

/* Tiles of as many blocks as the accumulator budget allows (at most 8),
   balanced so no narrow tile is left over; narrower for a single stream
   through a layer streamed from L2 (above), and for an LSTM layer there in
   an engine of one stream (`streams`) two chains (fast_plan.h). Again
   when the layer's weights become halves. */
static void
choose_tiling(SwFastLayer* const f, const uint32_t vl, const uint32_t regs,
              const uint32_t streams)
{
  f->two_chains = streams == 1U && f->type == SW_LAYER_LSTM &&
                  f->recurrent_activation == SW_ACT_SIGMOID &&
                  f->activation == SW_ACT_TANH &&
                  l2_stream_tile_blocks(f, vl) == 1U;
  for (uint32_t kind = 0; kind < 2U; ++kind) {
    const uint32_t G = accumulators_per_block(f, kind);
    for (uint32_t S = 1; S <= 4U && G > 0; ++S) {
      const uint32_t budget  = S == 1U && !f->wx_half
                                 ? SW_FAST_ACC_BUDGET_ONE(vl, regs)
                                 : SW_FAST_ACC_BUDGET(regs);
      const uint32_t l2_most = S == 1U ? l2_stream_tile_blocks(f, vl) : 0U;
      uint32_t       most    = budget / (S * G);
      most = most < 1U ? 1U : most > 8U ? 8U : most;
      if (l2_most > 0U && most > l2_most) {
        most = l2_most;
      }
      const uint32_t count = (f->blocks + most - 1U) / most;
      f->tiling[kind][S - 1U] = (SwFastTiling){
        .count = (uint16_t)count,
        .width = (uint16_t)(f->blocks / count),
        .wider = (uint16_t)(f->blocks % count),
      };
    }
  }
}

/* The layer's shape in the plan. */
static void
layer_shape(const SwLayer* const layer, const uint32_t vl,
            const uint32_t regs, const uint32_t streams, SwFastLayer* const f)
{
  f->type                 = layer->type;
  f->gru_reset            = layer->gru_reset;
  f->activation           = layer->activation;
  f->recurrent_activation = layer->recurrent_activation;
  f->in                   = layer->input_width;
  f->in_padded            = (uint32_t)round_up(layer->input_width, vl);
  f->units                = layer->units;
  f->padded               = (uint32_t)round_up(layer->units, vl);
  f->blocks               = f->padded / vl;
  f->dot = layer->type == SW_LAYER_DENSE && layer->units < vl;
  choose_tiling(f, vl, regs, streams);
}

/* Floats of the layer's weights and biases in the plan. */
static size_t
layer_weight_floats(const SwFastLayer* const f, const uint32_t gates)
{
  if (f->dot) {
    return round_up((size_t)f->units * f->in_padded, ALIGN_FLOATS) +
           round_up(f->units, ALIGN_FLOATS);
  }
  const size_t rows = (size_t)gates * f->padded;
  size_t       n    = round_up((size_t)f->in * rows, ALIGN_FLOATS) +
               round_up(rows, ALIGN_FLOATS);
  if (f->type != SW_LAYER_DENSE) {
    n += round_up((size_t)f->units * rows, ALIGN_FLOATS);
  }
  if (f->type == SW_LAYER_GRU) {
    n += round_up(f->padded, ALIGN_FLOATS);
  }
  return n;
}

/* Scratch the kernels use per stream for the layer. */
static size_t
layer_scratch_floats(const SwFastLayer* const f)
{
  switch (f->type) {
  case SW_LAYER_GRU:
    return (f->gru_reset == SW_GRU_RESET_AFTER ? 1U : 4U) * (size_t)f->padded;
  case SW_LAYER_LSTM:
  case SW_LAYER_SIMPLE_RNN: return f->padded;
  default: return 0;
  }
}

/* The column of gate g, unit j in a layout of vl-unit blocks of G gates. */
static size_t
interleaved(const uint32_t gates, const uint32_t vl, const uint32_t g,
            const uint32_t j)
{
  return ((size_t)(j / vl) * gates + g) * vl + j % vl;
}

/* The canonical [G U][cols] matrix `m` laid out block by block: block b
   (units b vl .. b vl + vl - 1) is [cols][G][vl]. */
static void
transpose_into(float* const wt, const uint32_t gates, const uint32_t U,
               const uint32_t vl, const float* const m, const size_t cols)
{
  for (uint32_t g = 0; g < gates; ++g) {
    for (uint32_t j = 0; j < U; ++j) {
      const float* const row = m + ((size_t)g * U + j) * cols;
      float* const       dst = wt + (size_t)(j / vl) * cols * gates * vl +
                         (size_t)g * vl + j % vl;
      for (size_t k = 0; k < cols; ++k) {
        dst[k * gates * vl] = row[k];
      }
    }
  }
}

/* Lays the layer's weights out at `at`; returns the floats used. */
static size_t
place_layer(const SwLayer* const layer, SwFastLayer* const f, const uint32_t vl,
            float* const at)
{
  const uint32_t G    = layer->gates;
  const uint32_t U    = f->units;
  const size_t   rows = (size_t)G * f->padded;
  float*         next = at;
  if (f->dot) {
    float* const w = next;
    for (uint32_t o = 0; o < U; ++o) {
      memcpy(w + (size_t)o * f->in_padded, layer->kernel + (size_t)o * f->in,
             f->in * sizeof(float));
    }
    next += round_up((size_t)U * f->in_padded, ALIGN_FLOATS);
    memcpy(next, layer->bias, U * sizeof(float));
    f->wx   = w;
    f->bias = next;
    return (size_t)(next - at) + round_up(U, ALIGN_FLOATS);
  }
  float* const wx = next;
  transpose_into(wx, G, U, vl, layer->kernel, f->in);
  next += round_up((size_t)f->in * rows, ALIGN_FLOATS);
  f->wx = wx;
  if (f->type != SW_LAYER_DENSE) {
    float* const wh = next;
    transpose_into(wh, G, U, vl, layer->recurrent_kernel, U);
    next += round_up((size_t)U * rows, ALIGN_FLOATS);
    f->wh = wh;
  }
  float* const bias = next;
  for (uint32_t g = 0; g < G; ++g) {
    for (uint32_t j = 0; j < U; ++j) {
      const size_t i = (size_t)g * U + j;
      /* GRU's candidate keeps its recurrent bias apart (bias_hn). */
      const bool add_recurrent =
        layer->recurrent_bias && f->type != SW_LAYER_DENSE &&
        !(f->type == SW_LAYER_GRU && g == 2U);
      bias[interleaved(G, vl, g, j)] =
        layer->bias[i] + (add_recurrent ? layer->recurrent_bias[i] : 0.0f);
    }
  }
  next += round_up(rows, ALIGN_FLOATS);
  f->bias = bias;
  if (f->type == SW_LAYER_GRU) {
    float* const bias_hn = next;
    if (layer->recurrent_bias) {
      memcpy(bias_hn, layer->recurrent_bias + 2U * (size_t)U,
             U * sizeof(float));
    }
    next += round_up(f->padded, ALIGN_FLOATS);
    f->bias_hn = bias_hn;
  }
  return (size_t)(next - at);
}

/* Streams handed to the kernels at once, for weights of `bytes` that
   passes of at most `widest` streams can take; the environment variable
   STATEWAVE_CPU_GROUP (1..4) forces it, for tests and measurements. */
static uint32_t
group_for(const size_t bytes, const uint32_t widest)
{
  const char* const forced = getenv("STATEWAVE_CPU_GROUP");
  if (forced && forced[0] >= '1' && forced[0] <= '0' + (int)SW_FAST_GROUP &&
      forced[1] == '\0') {
    return (uint32_t)(forced[0] - '0');
  }
  return bytes <= L1_WEIGHT_BYTES ? 1U : widest;
}

static SwStatus
build_plan(FastContext* const fast, SwError* const err)
{
  const SwModel* const model = fast->model;
  SwFastPlan* const    plan  = &fast->plan;
  const uint32_t       vl    = fast->kernels->vl;
  plan->num_layers           = model->num_layers;
  plan->vl                   = vl;
  plan->layers = (SwFastLayer*)calloc(model->num_layers, sizeof(SwFastLayer));
  if (!plan->layers) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  /* A stream's work area: layer 0's input, then each layer's output (and
     cell); each layer reads the previous one's output where it lies. */
  size_t weights = 0, scratch = ALIGN_FLOATS;
  size_t work    = round_up(round_up(model->layers[0].input_width, vl),
                            ALIGN_FLOATS);
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    SwFastLayer* const f = &plan->layers[l];
    layer_shape(&model->layers[l], vl, fast->kernels->regs, fast->streams,
                f);
    weights += layer_weight_floats(f, model->layers[l].gates);
    f->in_at  = l == 0 ? 0 : plan->layers[l - 1U].out_at;
    f->out_at = work;
    work += round_up(f->padded, ALIGN_FLOATS);
    if (f->type == SW_LAYER_LSTM) {
      f->cell_at = work;
      work += round_up(f->padded, ALIGN_FLOATS);
    }
    const size_t need = round_up(layer_scratch_floats(f), ALIGN_FLOATS);
    scratch           = need > scratch ? need : scratch;
  }
  plan->work_floats    = work;
  plan->scratch_floats = scratch;
  /* Rows for a chunk of frames where one stream may go layer by layer (a
     layer in two chains: only one stream's). */
  size_t widest     = 0;
  bool   two_chains = false;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwFastLayer* const f = &plan->layers[l];
    widest     = f->padded > widest ? f->padded : widest;
    two_chains = two_chains || f->two_chains;
  }
  if (two_chains && model->num_layers > 1U) {
    plan->chunk_frames = CHUNK_FRAMES;
    plan->chunk_stride = round_up(widest, ALIGN_FLOATS);
  }
  const size_t scratch_all = SW_FAST_GROUP * plan->scratch_floats +
                             plan->chunk_frames * plan->chunk_stride;

  fast->weights = (float*)aligned_alloc(64, weights * sizeof(float));
  fast->work    = (float*)aligned_alloc(
    64, (size_t)fast->streams * plan->work_floats * sizeof(float));
  fast->scratch = (float*)aligned_alloc(64, scratch_all * sizeof(float));
  if (!fast->weights || !fast->work || !fast->scratch) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  memset(fast->weights, 0, weights * sizeof(float));
  memset(fast->work, 0, (size_t)fast->streams * plan->work_floats * sizeof(float));
  memset(fast->scratch, 0, scratch_all * sizeof(float));

  float* next = fast->weights;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    next += place_layer(&model->layers[l], &plan->layers[l], vl, next);
  }
  fast->kernels->prepare(plan);
  fast->group = group_for(weights * sizeof(float),
                          SW_FAST_PASS_STREAMS(fast->kernels->regs));
  return SW_SUCCESS;
}

static void
fast_reset(void* const context, const uint32_t stream)
{
  FastContext* const fast = (FastContext*)context;
  if (fast->reference) {
    sw_cpu_ref_backend.reset(fast->reference, stream);
    return;
  }
  float* const work = fast->work + (size_t)stream * fast->plan.work_floats;
  memset(work, 0, fast->plan.work_floats * sizeof(float));
  for (uint32_t l = 0; l < fast->plan.num_layers; ++l) {
    const SwLayer* const     layer = &fast->model->layers[l];
    const SwFastLayer* const f     = &fast->plan.layers[l];
    if (layer->initial_h) {
      memcpy(work + f->out_at, layer->initial_h, f->units * sizeof(float));
    }
    if (layer->initial_c) {
      memcpy(work + f->cell_at, layer->initial_c, f->units * sizeof(float));
    }
  }
}

static SwStatus
fast_create(const SwModel* const model, const uint32_t streams,
            const uint32_t max_block, void** const context, SwError* const err)
{
  FastContext* const fast = (FastContext*)calloc(1, sizeof(FastContext));
  if (!fast) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  fast->model   = model;
  fast->streams = streams;
  fast->kernels = choose_kernels(model, streams, SW_WEIGHTS_FP32);
  SwStatus st   = SW_SUCCESS;
  if (!has_kernels_for(model)) {
    st = sw_cpu_ref_backend.create(model, streams, max_block, &fast->reference,
                                   err);
  } else {
    st = build_plan(fast, err);
  }
  if (st) {
    fast_destroy(fast);
    return st;
  }
  for (uint32_t s = 0; s < streams; ++s) {
    fast_reset(fast, s);
  }
  *context = fast;
  return SW_SUCCESS;
}

/* The context's plan remade for kernel set `kernels` (at creation, before
   any frame: every stream starts afresh). False, the context unchanged,
   if memory runs out. */
static bool
replan_for(FastContext* const fast, const KernelSet* const kernels)
{
  if (kernels == fast->kernels) {
    return true;
  }
  FastContext wider = *fast;
  wider.kernels     = kernels;
  wider.plan        = (SwFastPlan){0};
  wider.weights     = NULL;
  wider.work        = NULL;
  wider.scratch     = NULL;
  SwError err;
  if (build_plan(&wider, &err)) {
    free(wider.plan.layers);
    free(wider.weights);
    free(wider.work);
    free(wider.scratch);
    return false;
  }
  free(fast->plan.layers);
  free(fast->weights);
  free(fast->work);
  free(fast->scratch);
  *fast = wider;
  for (uint32_t s = 0; s < fast->streams; ++s) {
    fast_reset(fast, s);
  }
  return true;
}

/* The IEEE half nearest to x (ties to even; overflow to infinity). */
static uint16_t
half_from_float(const float x)
{
  uint32_t bits;
  memcpy(&bits, &x, sizeof(bits));
  const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000U);
  const uint32_t abs  = bits & 0x7fffffffU;
  if (abs >= 0x7f800000U) { /* Inf, NaN (kept quiet) */
    return (uint16_t)(sign | 0x7c00U | (abs > 0x7f800000U ? 0x200U : 0U));
  }
  if (abs >= 0x477ff000U) { /* rounds to 65536 or more */
    return (uint16_t)(sign | 0x7c00U);
  }
  if (abs < 0x38800000U) { /* below 2^-14: a subnormal half, or 0 */
    if (abs < 0x33000000U) { /* below half the smallest subnormal */
      return sign;
    }
    const uint32_t mant  = (abs & 0x7fffffU) | 0x800000U;
    /* value = mant 2^(e - 150) = (mant >> (126 - e)) units of 2^-24. */
    const uint32_t shift = 126U - (abs >> 23);
    const uint32_t keep = mant >> shift;
    const uint32_t rest = mant & ((1U << shift) - 1U);
    const uint32_t half = 1U << (shift - 1U);
    const uint32_t up   = rest > half || (rest == half && (keep & 1U));
    return (uint16_t)(sign | (keep + up));
  }
  /* Normal: rebias the exponent, round the mantissa's 13 dropped bits. */
  const uint32_t rebased = abs - 0x38000000U; /* exponent - 112 */
  const uint32_t keep    = rebased >> 13;
  const uint32_t rest    = rebased & 0x1fffU;
  const uint32_t up      = rest > 0x1000U || (rest == 0x1000U && (keep & 1U));
  return (uint16_t)(sign | (keep + up));
}

/* The bfloat16 nearest to x (ties to even; overflow to infinity, NaN kept
   quiet): the upper half of its bits, rounded. */
static uint16_t
bf16_from_float(const float x)
{
  uint32_t bits;
  memcpy(&bits, &x, sizeof(bits));
  if ((bits & 0x7fffffffU) > 0x7f800000U) {
    return (uint16_t)((bits >> 16) | 0x40U);
  }
  return (uint16_t)((bits + 0x7fffU + ((bits >> 16) & 1U)) >> 16);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#  error "bfloat16 pairs (fast_plan.h) assume little-endian 32-bit lanes"
#endif

/* n floats of a layer's wx or wh (rows of `gates` vectors of vl) as
   bfloat16 pairs of gates (fast_plan.h). */
static void
bf16_pairs(uint16_t* const to, const float* const from, const size_t n,
           const uint32_t gates, const uint32_t vl)
{
  const size_t row = (size_t)gates * vl;
  for (size_t r = 0; r < n; r += row) {
    for (uint32_t g = 0; g < gates; g += 2U) {
      const float* const a = from + r + (size_t)g * vl;
      uint16_t* const    o = to + r + (size_t)g * vl;
      for (uint32_t j = 0; j < vl; ++j) {
        if (g + 1U < gates) {
          o[2U * j]      = bf16_from_float(a[j]);
          o[2U * j + 1U] = bf16_from_float(a[vl + j]);
        } else {
          o[j] = bf16_from_float(a[j]);
        }
      }
    }
  }
}

/* n floats as IEEE halves, in the same order. */
static void
halves_of(uint16_t* const to, const float* const from, const size_t n)
{
  for (size_t i = 0; i < n; ++i) {
    to[i] = half_from_float(from[i]);
  }
}

/* Whether the layer runs on 16-bit weights in the compact mode. */
static bool
takes_halves(const SwFastLayer* const f)
{
  return f->type == SW_LAYER_LSTM ||
         (f->type == SW_LAYER_GRU && f->gru_reset == SW_GRU_RESET_AFTER);
}

/* The 16-bit weights of the compact mode in the plan's layout. */
static size_t
compact_weight_count(const SwFastPlan* const plan)
{
  size_t count = 0;
  for (uint32_t l = 0; l < plan->num_layers; ++l) {
    const SwFastLayer* const f = &plan->layers[l];
    if (takes_halves(f)) {
      const size_t rows =
        (size_t)(f->type == SW_LAYER_LSTM ? 4U : 3U) * f->padded;
      count += (size_t)(f->in + f->units) * rows;
    }
  }
  return count;
}

bool
sw_cpu_compact_weights(void* const context, const SwWeightFormat format,
                       char* const why, const size_t why_size)
{
  FastContext* const fast = (FastContext*)context;
  const bool         bf16 = format == SW_WEIGHTS_BF16;
  if (fast->reference) {
    snprintf(why, why_size, "the model runs on cpu-ref (Conv1D or windowed)");
    return false;
  }
  if (!bf16 && (!fast->kernels->converts_halves ||
                !fast->kernels->converts_halves())) {
    snprintf(why, why_size, "the %s kernels cannot convert halves",
             fast->kernels->name);
    return false;
  }
  if (compact_weight_count(&fast->plan) == 0) {
    snprintf(why, why_size, "no LSTM or GRU (reset after) layer");
    return false;
  }
  if (bf16 && !replan_for(fast, choose_kernels(fast->model, fast->streams,
                                               format))) {
    snprintf(why, why_size, "out of memory");
    return false;
  }
  const size_t count = compact_weight_count(&fast->plan);
  /* A size in whole 64-byte units, as aligned_alloc requires. */
  fast->halves =
    (uint16_t*)aligned_alloc(64, round_up(count * sizeof(uint16_t), 64U));
  if (!fast->halves) {
    snprintf(why, why_size, "out of memory");
    return false;
  }
  fast->bf16     = bf16;
  uint16_t* next = fast->halves;
  for (uint32_t l = 0; l < fast->plan.num_layers; ++l) {
    SwFastLayer* const f = &fast->plan.layers[l];
    if (!takes_halves(f)) {
      continue;
    }
    const uint32_t gates = f->type == SW_LAYER_LSTM ? 4U : 3U;
    const size_t   rows  = (size_t)gates * f->padded;
    const size_t nx = (size_t)f->in * rows, nh = (size_t)f->units * rows;
    if (bf16) {
      bf16_pairs(next, f->wx, nx, gates, fast->kernels->vl);
      bf16_pairs(next + nx, f->wh, nh, gates, fast->kernels->vl);
    } else {
      halves_of(next, f->wx, nx);
      halves_of(next + nx, f->wh, nh);
    }
    f->wx_half = next;
    f->wh_half = next + nx;
    f->bf16    = bf16;
    next += nx + nh;
    choose_tiling(f, fast->kernels->vl, fast->kernels->regs, fast->streams);
  }
  fast->kernels->prepare(&fast->plan);
  /* 16-bit weights (two bytes a weight) may now fit L1. Each has to be
     widened into a register before the streams use it (a float is read by
     each multiply-add from memory): three streams' accumulators, their
     inputs and it overflow AVX2's 16 registers, so passes of two there
     (measured on a Zen 3 with halves: 8 streams of LSTM-128 took 3.3 us a
     stream's sample in passes of three, 2.5 in passes of two). */
  const uint32_t regs = fast->kernels->regs;
  fast->group = group_for(count * sizeof(uint16_t),
                          regs < 32U ? 2U : SW_FAST_PASS_STREAMS(regs));
  return true;
}

/* A kernel call's streams, with their numbers. */
typedef struct {
  SwFastStreams io;
  uint32_t      stream[SW_FAST_GROUP];
} Group;

static void
add_to_group(Group* const g, const FastContext* const fast, const uint32_t s,
             const float* const in, float* const out, const uint32_t frames)
{
  const uint32_t k = g->io.streams++;
  g->stream[k]     = s;
  g->io.work[k]    = fast->work + (size_t)s * fast->plan.work_floats;
  g->io.in[k]      = in + (size_t)s * frames * fast->model->input_width;
  g->io.out[k]     = out + (size_t)s * frames * fast->model->output_width;
}

/* Member k of `from` joins `to`. */
static void
copy_member(Group* const to, const Group* const from, const uint32_t k)
{
  const uint32_t j = to->io.streams++;
  to->stream[j]    = from->stream[k];
  to->io.work[j]   = from->io.work[k];
  to->io.in[j]     = from->io.in[k];
  to->io.out[j]    = from->io.out[k];
}

/* Stream k of the group starts over at frame t, whose output is 0 (as on
   cpu-ref after an Inf or NaN). */
static void
reset_in_group(FastContext* const fast, const Group* const g,
               const uint32_t k, const uint32_t t,
               uint64_t* const nonfinite_resets)
{
  fast_reset(fast, g->stream[k]);
  const size_t O = fast->model->output_width;
  memset(g->io.out[k] + (size_t)t * O, 0, O * sizeof(float));
  ++*nonfinite_resets;
}

/* The members of g in the bitmask `bad` start over at frame t. */
static void
reset_members(FastContext* const fast, const Group* const g,
              const uint32_t bad, const uint32_t t,
              uint64_t* const nonfinite_resets)
{
  for (uint32_t k = 0; k < g->io.streams; ++k) {
    if (bad >> k & 1U) {
      reset_in_group(fast, g, k, t, nonfinite_resets);
    }
  }
}

/* The kernels' call over frames t .. frames - 1, from which they return at
   the first frame with an Inf or NaN: in a stream's new state (that stream
   resets) or in an input frame (that stream resets, the others take the
   frame in a call of their own). */
static void
run_group(FastContext* const fast, const Group* const g, uint32_t t,
          const uint32_t frames, uint64_t* const nonfinite_resets)
{
  const size_t I = fast->model->input_width;
  while (t < frames) {
    uint32_t bad = 0;
    t = fast->kernels->run(&fast->plan, &g->io, t, frames, fast->scratch, &bad);
    if (t == frames) {
      return;
    }
    if (bad) {
      reset_members(fast, g, bad, t, nonfinite_resets);
    } else {
      Group finite = {0};
      for (uint32_t k = 0; k < g->io.streams; ++k) {
        if (sw_all_finite(g->io.in[k] + (size_t)t * I, I)) {
          copy_member(&finite, g, k);
        } else {
          reset_in_group(fast, g, k, t, nonfinite_resets);
        }
      }
      if (finite.io.streams > 0) {
        (void)fast->kernels->run(&fast->plan, &finite.io, t, t + 1U,
                                 fast->scratch, &bad);
        reset_members(fast, &finite, bad, t, nonfinite_resets);
      }
    }
    ++t;
  }
}

static SwStatus
fast_process(void* const context, const float* const in, float* const out,
             const uint32_t frames, uint64_t* const nonfinite_resets)
{
  FastContext* const fast = (FastContext*)context;
  if (fast->reference) {
    return sw_cpu_ref_backend.process(fast->reference, in, out, frames,
                                      nonfinite_resets);
  }
  /* Groups of streams that go through the weights together, each group
     frame by frame over the whole block. */
  for (uint32_t s0 = 0; s0 < fast->streams; s0 += fast->group) {
    Group g = {0};
    for (uint32_t s = s0; s < fast->streams && s < s0 + fast->group; ++s) {
      add_to_group(&g, fast, s, in, out, frames);
    }
    run_group(fast, &g, 0, frames, nonfinite_resets);
  }
  return SW_SUCCESS;
}

/* The layer's state in the canonical layout: [h] or [h, c]. */
static void
fast_get_state(void* const context, const uint32_t stream, const uint32_t layer,
               float* const dst)
{
  const FastContext* const fast = (const FastContext*)context;
  if (fast->reference) {
    sw_cpu_ref_backend.get_state(fast->reference, stream, layer, dst);
    return;
  }
  const SwFastLayer* const f = &fast->plan.layers[layer];
  const float* const work = fast->work + (size_t)stream * fast->plan.work_floats;
  if (f->type == SW_LAYER_DENSE) {
    return;
  }
  memcpy(dst, work + f->out_at, f->units * sizeof(float));
  if (f->type == SW_LAYER_LSTM) {
    memcpy(dst + f->units, work + f->cell_at, f->units * sizeof(float));
  }
}

static void
fast_set_state(void* const context, const uint32_t stream, const uint32_t layer,
               const float* const src)
{
  FastContext* const fast = (FastContext*)context;
  if (fast->reference) {
    sw_cpu_ref_backend.set_state(fast->reference, stream, layer, src);
    return;
  }
  const SwFastLayer* const f = &fast->plan.layers[layer];
  float* const work = fast->work + (size_t)stream * fast->plan.work_floats;
  if (f->type == SW_LAYER_DENSE) {
    return;
  }
  memcpy(work + f->out_at, src, f->units * sizeof(float));
  if (f->type == SW_LAYER_LSTM) {
    memcpy(work + f->cell_at, src + f->units, f->units * sizeof(float));
  }
}

static bool
fast_probe(char* const detail, const size_t detail_size)
{
  const KernelSet* const chosen = best_kernels();
  int used = snprintf(detail, detail_size, "SIMD kernels: %s%s (this CPU has:",
                      chosen->name,
                      narrow_when_latency_bound(chosen)
                        ? "; avx512vl for one stream, or two of a model under "
                          "28 KB, as this CPU splits 512-bit vectors"
                        : "");
  for (size_t i = 0; i < NUM_KERNEL_SETS && used > 0 &&
                     (size_t)used < detail_size;
       ++i) {
    if (!kernel_sets[i].forced_only && kernel_sets[i].supported()) {
      used += snprintf(detail + used, detail_size - (size_t)used, " %s",
                       kernel_sets[i].name);
    }
  }
  if (used > 0 && (size_t)used < detail_size) {
    snprintf(detail + used, detail_size - (size_t)used,
             "); Conv1D and windowed models run on cpu-ref");
  }
  return true;
}

const char*
sw_cpu_kernels_name(const void* const context)
{
  const FastContext* const fast = (const FastContext*)context;
  if (fast->reference) {
    return "cpu-ref";
  }
  if (fast->halves) {
    return fast->bf16 ? fast->kernels->bf16_name : fast->kernels->half_name;
  }
  return fast->kernels->name;
}

uint32_t
sw_cpu_two_chain_layers(const void* const context)
{
  const FastContext* const fast  = (const FastContext*)context;
  uint32_t                 count = 0;
  for (uint32_t l = 0; !fast->reference && l < fast->plan.num_layers; ++l) {
    count += fast->plan.layers[l].two_chains ? 1U : 0U;
  }
  return count;
}

bool
sw_cpu_layer_major(const void* const context)
{
  const FastContext* const fast = (const FastContext*)context;
  return !fast->reference && fast->plan.layer_major;
}

uint32_t
sw_cpu_streams_per_call(const void* const context)
{
  const FastContext* const fast = (const FastContext*)context;
  return fast->reference ? 1U : fast->group;
}

const SwBackendIface sw_cpu_backend = {
  .name      = "cpu",
  .kind      = SW_BACKEND_CPU,
  .probe     = fast_probe,
  .create    = fast_create,
  .destroy   = fast_destroy,
  .reset     = fast_reset,
  .process   = fast_process,
  .submit    = NULL,
  .collect   = NULL,
  .failure   = NULL,
  .get_state = fast_get_state,
  .set_state = fast_set_state,
};

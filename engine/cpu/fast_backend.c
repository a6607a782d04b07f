/* The CPU backend ("cpu"): every stream stepped frame by frame through SIMD
   kernels chosen at run time from the CPU's features (AVX-512, AVX2+FMA,
   SSE2; NEON on aarch64), over a layout made for them at creation
   (fast_plan.h). Streams run up to four at a time through the same weights.
   Models it has no kernels for (Conv1D layers, windowed models) run on the
   scalar reference ("cpu-ref", cpu_backend.c) inside it. The environment
   variable STATEWAVE_CPU_KERNELS (sse2, avx2, avx512, neon, generic)
   forces a kernel set the CPU has, for tests and measurements. */

#include "backend.h"
#include "error.h"
#include "fast_plan.h"
#include "model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char*     name;
  SwFastFrameFunc frame;
  bool (*supported)(void);
} KernelSet;

#if defined(__x86_64__) || defined(_M_X64)
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
/* Best first. */
static const KernelSet kernel_sets[] = {
  {"avx512", sw_fast_frame_avx512, have_avx512},
  {"avx2", sw_fast_frame_avx2, have_avx2},
  {"sse2", sw_fast_frame_sse2, have_sse2},
};
#elif defined(__aarch64__)
static bool
have_neon(void)
{
  return true;
}
static const KernelSet kernel_sets[] = {
  {"neon", sw_fast_frame_neon, have_neon},
};
#else
static bool
have_generic(void)
{
  return true;
}
static const KernelSet kernel_sets[] = {
  {"generic", sw_fast_frame_generic, have_generic},
};
#endif

#define NUM_KERNEL_SETS (sizeof(kernel_sets) / sizeof(kernel_sets[0]))

/* The kernel set to use: STATEWAVE_CPU_KERNELS if set and supported, else
   the best the CPU has. */
static const KernelSet*
choose_kernels(void)
{
  const char* const forced = getenv("STATEWAVE_CPU_KERNELS");
  for (size_t i = 0; forced && i < NUM_KERNEL_SETS; ++i) {
    if (!strcmp(forced, kernel_sets[i].name) && kernel_sets[i].supported()) {
      return &kernel_sets[i];
    }
  }
  for (size_t i = 0; i < NUM_KERNEL_SETS; ++i) {
    if (kernel_sets[i].supported()) {
      return &kernel_sets[i];
    }
  }
  return &kernel_sets[NUM_KERNEL_SETS - 1U];
}

typedef struct {
  const SwModel*   model;
  uint32_t         streams;
  const KernelSet* kernels;
  SwFastPlan       plan;
  float*           weights; /* every layer's wt/bias, one aligned block */
  float*           work;    /* [streams][plan.work_floats] */
  float*           scratch; /* plan.scratch_floats */
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
  free(fast->work);
  free(fast->scratch);
  free(fast);
}

/* Sizes of one layer's arrays in the plan, in floats. */
static void
layer_shape(const SwLayer* const layer, SwFastLayer* const f)
{
  f->type                 = layer->type;
  f->gru_reset            = layer->gru_reset;
  f->activation           = layer->activation;
  f->recurrent_activation = layer->recurrent_activation;
  f->in                   = layer->input_width;
  f->units                = layer->units;
  f->padded               = (uint32_t)round_up(layer->units, SW_FAST_PAD);
  f->rows                 = layer->gates * f->padded;
}

static size_t
layer_weight_floats(const SwFastLayer* const f)
{
  switch (f->type) {
  case SW_LAYER_LSTM:
  case SW_LAYER_SIMPLE_RNN:
    return (size_t)(f->in + f->units) * f->rows + f->rows;
  case SW_LAYER_GRU:
    return (size_t)f->in * f->rows + f->rows + (size_t)f->units * f->rows +
           f->rows;
  default:
    return (size_t)f->in * f->rows + f->rows;
  }
}

/* Transpose the canonical [G*U x cols] matrix `m` into wt [cols][rows],
   gate g's unit j at column g*Up + j, starting at input column `from`. */
static void
transpose_into(float* const wt, const size_t rows, const uint32_t gates,
               const uint32_t U, const uint32_t Up, const float* const m,
               const size_t cols, const size_t from)
{
  for (uint32_t g = 0; g < gates; ++g) {
    for (uint32_t j = 0; j < U; ++j) {
      const float* const row = m + ((size_t)g * U + j) * cols;
      for (size_t k = 0; k < cols; ++k) {
        wt[(from + k) * rows + (size_t)g * Up + j] = row[k];
      }
    }
  }
}

static void
pad_bias(float* const dst, const uint32_t gates, const uint32_t U,
         const uint32_t Up, const float* const a, const float* const b)
{
  for (uint32_t g = 0; g < gates; ++g) {
    for (uint32_t j = 0; j < U; ++j) {
      const size_t i = (size_t)g * U + j;
      dst[(size_t)g * Up + j] = a[i] + (b ? b[i] : 0.0f);
    }
  }
}

static SwStatus
build_plan(FastContext* const fast, SwError* const err)
{
  const SwModel* const model = fast->model;
  SwFastPlan* const    plan  = &fast->plan;
  plan->num_layers           = model->num_layers;
  plan->layers = (SwFastLayer*)calloc(model->num_layers, sizeof(SwFastLayer));
  if (!plan->layers) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  size_t weights = 0, work = 0, scratch = SW_FAST_PAD;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    SwFastLayer* const f = &plan->layers[l];
    layer_shape(&model->layers[l], f);
    weights += round_up(layer_weight_floats(f), SW_FAST_PAD);
    f->vec = work;
    work += round_up(f->in + f->padded, SW_FAST_PAD);
    if (f->type == SW_LAYER_LSTM) {
      f->cell = work;
      work += f->padded;
    }
    if (f->type == SW_LAYER_DENSE) {
      f->out = work;
      work += f->padded;
    }
    const size_t need = f->type == SW_LAYER_GRU ? 7U * (size_t)f->padded
                                                : (size_t)f->rows;
    scratch = need > scratch ? need : scratch;
  }
  plan->work_floats    = round_up(work, SW_FAST_PAD);
  plan->scratch_floats = SW_FAST_GROUP * scratch;

  /* 64-byte aligned, sizes multiples of 16 floats: every vector load of a
     weight row or work vector stays inside one allocation. */
  fast->weights = (float*)aligned_alloc(64, weights * sizeof(float));
  fast->work    = (float*)aligned_alloc(
    64, (size_t)fast->streams * plan->work_floats * sizeof(float));
  fast->scratch = (float*)aligned_alloc(64, plan->scratch_floats * sizeof(float));
  if (!fast->weights || !fast->work || !fast->scratch) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  memset(fast->weights, 0, weights * sizeof(float));
  memset(fast->work, 0, (size_t)fast->streams * plan->work_floats * sizeof(float));
  memset(fast->scratch, 0, plan->scratch_floats * sizeof(float));

  float* next = fast->weights;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    SwFastLayer* const   f     = &plan->layers[l];
    const uint32_t       G     = layer->gates;
    f->wt                      = next;
    switch (f->type) {
    case SW_LAYER_LSTM:
    case SW_LAYER_SIMPLE_RNN:
      transpose_into(f->wt, f->rows, G, f->units, f->padded, layer->kernel,
                     f->in, 0);
      transpose_into(f->wt, f->rows, G, f->units, f->padded,
                     layer->recurrent_kernel, f->units, f->in);
      f->bias = f->wt + (size_t)(f->in + f->units) * f->rows;
      pad_bias(f->bias, G, f->units, f->padded, layer->bias,
               layer->recurrent_bias);
      break;
    case SW_LAYER_GRU:
      transpose_into(f->wt, f->rows, G, f->units, f->padded, layer->kernel,
                     f->in, 0);
      f->bias = f->wt + (size_t)f->in * f->rows;
      pad_bias(f->bias, G, f->units, f->padded, layer->bias, NULL);
      f->wt_h = f->bias + f->rows;
      transpose_into(f->wt_h, f->rows, G, f->units, f->padded,
                     layer->recurrent_kernel, f->units, 0);
      f->bias_h = f->wt_h + (size_t)f->units * f->rows;
      pad_bias(f->bias_h, G, f->units, f->padded, layer->recurrent_bias, NULL);
      break;
    default: /* Dense */
      transpose_into(f->wt, f->rows, 1, f->units, f->padded, layer->kernel,
                     f->in, 0);
      f->bias = f->wt + (size_t)f->in * f->rows;
      pad_bias(f->bias, 1, f->units, f->padded, layer->bias, NULL);
      break;
    }
    next += round_up(layer_weight_floats(f), SW_FAST_PAD);
  }
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
      memcpy(work + f->vec + f->in, layer->initial_h, f->units * sizeof(float));
    }
    if (layer->initial_c) {
      memcpy(work + f->cell, layer->initial_c, f->units * sizeof(float));
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
  fast->kernels = choose_kernels();
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

/* An exponent of all ones is Inf or NaN; integer ORs vectorize. */
static bool
all_finite(const float* const values, const size_t count)
{
  uint32_t bad = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    memcpy(&bits, &values[i], sizeof(bits));
    bad |= (uint32_t)((bits & 0x7f800000U) == 0x7f800000U);
  }
  return bad == 0;
}

/* Whether every recurrent state of the stream is finite. */
static bool
state_finite(const FastContext* const fast, const float* const work)
{
  for (uint32_t l = 0; l < fast->plan.num_layers; ++l) {
    const SwFastLayer* const f = &fast->plan.layers[l];
    if (f->type == SW_LAYER_DENSE) {
      continue;
    }
    if (!all_finite(work + f->vec + f->in, f->units) ||
        (f->type == SW_LAYER_LSTM && !all_finite(work + f->cell, f->units))) {
      return false;
    }
  }
  return true;
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
  const SwFastPlan* const plan = &fast->plan;
  const size_t            I    = fast->model->input_width;
  const size_t            O    = fast->model->output_width;
  const size_t            in0  = plan->layers[0].vec;

  for (uint32_t t = 0; t < frames; ++t) {
    /* Streams with a finite input frame go through the kernels in groups;
       a non-finite input resets its stream (output 0), as on cpu-ref. */
    uint32_t pending[SW_FAST_GROUP];
    uint32_t count = 0;
    for (uint32_t s = 0; s <= fast->streams; ++s) {
      if (s < fast->streams) {
        const float* const x    = in + ((size_t)s * frames + t) * I;
        float* const       work = fast->work + (size_t)s * plan->work_floats;
        if (all_finite(x, I)) {
          memcpy(work + in0, x, I * sizeof(float));
          pending[count++] = s;
        } else {
          fast_reset(fast, s);
          memset(out + ((size_t)s * frames + t) * O, 0, O * sizeof(float));
          ++*nonfinite_resets;
        }
      }
      if (count == SW_FAST_GROUP || (s == fast->streams && count > 0)) {
        float* work[SW_FAST_GROUP];
        for (uint32_t k = 0; k < count; ++k) {
          work[k] = fast->work + (size_t)pending[k] * plan->work_floats;
        }
        fast->kernels->frame(plan, work, count, fast->scratch);
        for (uint32_t k = 0; k < count; ++k) {
          float* const dst = out + ((size_t)pending[k] * frames + t) * O;
          if (state_finite(fast, work[k])) {
            memcpy(dst, sw_fast_output(plan, work[k]), O * sizeof(float));
          } else {
            fast_reset(fast, pending[k]);
            memset(dst, 0, O * sizeof(float));
            ++*nonfinite_resets;
          }
        }
        count = 0;
      }
    }
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
  memcpy(dst, work + f->vec + f->in, f->units * sizeof(float));
  if (f->type == SW_LAYER_LSTM) {
    memcpy(dst + f->units, work + f->cell, f->units * sizeof(float));
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
  memcpy(work + f->vec + f->in, src, f->units * sizeof(float));
  if (f->type == SW_LAYER_LSTM) {
    memcpy(work + f->cell, src + f->units, f->units * sizeof(float));
  }
}

static bool
fast_probe(char* const detail, const size_t detail_size)
{
  const KernelSet* const chosen = choose_kernels();
  int used = snprintf(detail, detail_size, "SIMD kernels: %s (this CPU has:",
                      chosen->name);
  for (size_t i = 0; i < NUM_KERNEL_SETS && used > 0 &&
                     (size_t)used < detail_size;
       ++i) {
    if (kernel_sets[i].supported()) {
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
  return fast->reference ? "cpu-ref" : fast->kernels->name;
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

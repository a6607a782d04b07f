/* The scalar reference CPU backend ("cpu-ref"): every stream stepped frame
   by frame through the scalar cells (streaming models) or a whole window
   pass per frame (windowed models, windowed.c). Every other path is tested
   against it; the fast "cpu" backend (fast_backend.c) runs models it has no
   kernels for through it. */

#include "backend.h"
#include "cells.h"
#include "error.h"
#include "finite.h"
#include "model_impl.h"
#include "windowed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const SwModel* model;
  uint32_t       streams;
  size_t*        layer_offset; /* of each layer's state within a stream's */
  float*         state;        /* [streams][state_size] */
  float*         scratch;      /* cell scratch, largest layer */
  float*         dense_a;      /* Dense outputs, ping-pong */
  float*         dense_b;
  SwWindowScratch* window; /* windowed models only; state is the window */
} CpuContext;

static void
cpu_destroy(void* const context)
{
  CpuContext* const cpu = (CpuContext*)context;
  if (!cpu) {
    return;
  }
  free(cpu->layer_offset);
  free(cpu->state);
  free(cpu->scratch);
  free(cpu->dense_a);
  free(cpu->dense_b);
  sw_cpu_window_scratch_free(cpu->window);
  free(cpu);
}

static void
cpu_reset(void* const context, const uint32_t stream)
{
  CpuContext* const    cpu   = (CpuContext*)context;
  const SwModel* const model = cpu->model;
  float* const         state = cpu->state + (size_t)stream * model->state_size;

  if (model->window) {
    /* The frames before the first (or a reset) are zeros, as the window
       of a signal's first samples is zero-padded. */
    memset(state, 0, model->state_size * sizeof(float));
    return;
  }
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    const size_t         U     = layer->units;
    float* const         h     = state + cpu->layer_offset[l];
    if (layer->type == SW_LAYER_CONV1D) {
      /* Keras's causal padding: the frames before the first are zeros. */
      memset(h, 0, sw_layer_state_size(layer) * sizeof(float));
      continue;
    }
    if (layer->type == SW_LAYER_DENSE) {
      continue;
    }
    if (layer->initial_h) {
      memcpy(h, layer->initial_h, U * sizeof(float));
    } else {
      memset(h, 0, U * sizeof(float));
    }
    if (layer->type == SW_LAYER_LSTM) {
      if (layer->initial_c) {
        memcpy(h + U, layer->initial_c, U * sizeof(float));
      } else {
        memset(h + U, 0, U * sizeof(float));
      }
    }
  }
}

static SwStatus
cpu_create(const SwModel* const model, const uint32_t streams,
           const uint32_t max_block, void** const context, SwError* const err)
{
  (void)max_block; /* the CPU steps frame by frame: no per-block buffers */

  CpuContext* const cpu = (CpuContext*)calloc(1, sizeof(CpuContext));
  if (!cpu) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  cpu->model   = model;
  cpu->streams = streams;

  size_t scratch_size = 1U;
  size_t widest       = 1U;
  cpu->layer_offset   = (size_t*)calloc(model->num_layers, sizeof(size_t));
  if (cpu->layer_offset) {
    size_t offset = 0;
    for (uint32_t l = 0; l < model->num_layers; ++l) {
      const SwLayer* const layer = &model->layers[l];
      cpu->layer_offset[l]       = offset;
      offset += sw_layer_state_size(layer);
      const size_t need = sw_cpu_cell_scratch_size(layer);
      scratch_size      = need > scratch_size ? need : scratch_size;
      widest            = layer->units > widest ? layer->units : widest;
    }
  }
  cpu->state   = (float*)calloc((size_t)streams * model->state_size + 1U,
                                sizeof(float));
  cpu->scratch = (float*)calloc(scratch_size, sizeof(float));
  cpu->dense_a = (float*)calloc(widest, sizeof(float));
  cpu->dense_b = (float*)calloc(widest, sizeof(float));
  if (!cpu->layer_offset || !cpu->state || !cpu->scratch || !cpu->dense_a ||
      !cpu->dense_b) {
    cpu_destroy(cpu);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  if (model->window) {
    const SwStatus st = sw_cpu_window_scratch_new(model, &cpu->window, err);
    if (st) {
      cpu_destroy(cpu);
      return st;
    }
  }
  for (uint32_t s = 0; s < streams; ++s) {
    cpu_reset(cpu, s);
  }
  *context = cpu;
  return SW_SUCCESS;
}

/* One frame of one stream through every layer; returns the output vector. */
static const float*
cpu_step(CpuContext* const cpu, float* const state, const float* const x)
{
  const SwModel* const model = cpu->model;
  const float*         cur   = x;
  float*               dense = cpu->dense_a;

  if (cpu->window) {
    return sw_cpu_window_step(cpu->window, state, x);
  }
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    float* const         h     = state + cpu->layer_offset[l];
    switch (layer->type) {
    case SW_LAYER_LSTM:
      sw_cpu_lstm_step(layer, cur, h, h + layer->units, cpu->scratch);
      cur = h;
      break;
    case SW_LAYER_GRU:
      sw_cpu_gru_step(layer, cur, h, cpu->scratch);
      cur = h;
      break;
    case SW_LAYER_SIMPLE_RNN:
      sw_cpu_simple_rnn_step(layer, cur, h, cpu->scratch);
      cur = h;
      break;
    case SW_LAYER_DENSE:
      sw_cpu_dense(layer, cur, dense);
      cur   = dense;
      dense = dense == cpu->dense_a ? cpu->dense_b : cpu->dense_a;
      break;
    case SW_LAYER_CONV1D:
      sw_cpu_conv1d_step(layer, cur, h, dense);
      cur   = dense;
      dense = dense == cpu->dense_a ? cpu->dense_b : cpu->dense_a;
      break;
    }
  }
  return cur;
}

static SwStatus
cpu_process(void* const context, const float* const in, float* const out,
            const uint32_t frames, uint64_t* const nonfinite_resets)
{
  CpuContext* const    cpu   = (CpuContext*)context;
  const SwModel* const model = cpu->model;
  const size_t         I     = model->input_width;
  const size_t         O     = model->output_width;

  for (uint32_t s = 0; s < cpu->streams; ++s) {
    float* const state = cpu->state + (size_t)s * model->state_size;
    for (uint32_t t = 0; t < frames; ++t) {
      const size_t       frame = (size_t)s * frames + t;
      const float* const x     = in + frame * I;
      float* const       dst   = out + frame * O;
      /* A non-finite input is a reset too: saturating gates would absorb an
         Inf into a finite but meaningless state. */
      const bool input_ok = sw_all_finite(x, I);
      const float* const y = input_ok ? cpu_step(cpu, state, x) : NULL;
      if (input_ok && sw_all_finite(state, model->state_size)) {
        memcpy(dst, y, O * sizeof(float));
      } else {
        cpu_reset(cpu, s);
        memset(dst, 0, O * sizeof(float));
        ++*nonfinite_resets;
      }
    }
  }
  return SW_SUCCESS;
}

static void
cpu_get_state(void* const context, const uint32_t stream, const uint32_t layer,
              float* const dst)
{
  const CpuContext* const cpu   = (const CpuContext*)context;
  const SwModel* const    model = cpu->model;
  memcpy(dst,
         cpu->state + (size_t)stream * model->state_size +
           cpu->layer_offset[layer],
         sw_layer_state_size(&model->layers[layer]) * sizeof(float));
}

static void
cpu_set_state(void* const context, const uint32_t stream, const uint32_t layer,
              const float* const src)
{
  CpuContext* const    cpu   = (CpuContext*)context;
  const SwModel* const model = cpu->model;
  memcpy(cpu->state + (size_t)stream * model->state_size +
           cpu->layer_offset[layer],
         src, sw_layer_state_size(&model->layers[layer]) * sizeof(float));
}

static bool
cpu_probe(char* const detail, const size_t detail_size)
{
  snprintf(detail, detail_size,
           "scalar reference path (libm activations, sums in index order), "
           "always usable");
  return true;
}

const SwBackendIface sw_cpu_ref_backend = {
  .name      = "cpu-ref",
  .kind      = SW_BACKEND_CPU_REF,
  .probe     = cpu_probe,
  .create    = cpu_create,
  .destroy   = cpu_destroy,
  .reset     = cpu_reset,
  .process   = cpu_process,
  .submit    = NULL,
  .collect   = NULL,
  .failure   = NULL,
  .get_state = cpu_get_state,
  .set_state = cpu_set_state,
};

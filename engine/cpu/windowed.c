/* One output frame of a windowed model: the layers run in turn over whole
   sequences, exactly as one Keras call on the window would, so the result
   is the Keras model's output for that window (within float rounding of
   the summation order, which here is fixed: bit-identical for any block
   split). */

#include "windowed.h"

#include "activation.h"
#include "cells.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

struct SwWindowScratch {
  const SwModel* model;
  uint32_t       dense_tail; /* first layer of the trailing Dense layers */
  float*         sequence_a; /* layer outputs, ping-pong: [steps][units] */
  float*         sequence_b;
  float*         state;      /* a recurrent layer's [h, c] */
  float*         cell;       /* cell scratch, largest layer */
};

void
sw_cpu_window_scratch_free(SwWindowScratch* const scratch)
{
  if (!scratch) {
    return;
  }
  free(scratch->sequence_a);
  free(scratch->sequence_b);
  free(scratch->state);
  free(scratch->cell);
  free(scratch);
}

SwStatus
sw_cpu_window_scratch_new(const SwModel* const model,
                          SwWindowScratch** const scratch, SwError* const err)
{
  SwWindowScratch* const win =
    (SwWindowScratch*)calloc(1, sizeof(SwWindowScratch));
  if (!win) {
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  win->model = model;

  /* Trailing Dense layers map each step alone, and only the last step is
     the output: they run on that step only. */
  win->dense_tail = model->num_layers;
  while (win->dense_tail > 0 &&
         model->layers[win->dense_tail - 1U].type == SW_LAYER_DENSE) {
    --win->dense_tail;
  }

  size_t longest = 1U, widest = 1U, cell = 1U;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    const size_t steps = l >= win->dense_tail ? 1U : layer->out_steps;
    const size_t size  = steps * layer->units;
    const size_t need  = sw_cpu_cell_scratch_size(layer);
    longest = size > longest ? size : longest;
    widest  = layer->units > widest ? layer->units : widest;
    cell    = need > cell ? need : cell;
  }
  win->sequence_a = (float*)calloc(longest, sizeof(float));
  win->sequence_b = (float*)calloc(longest, sizeof(float));
  win->state      = (float*)calloc(2U * widest, sizeof(float));
  win->cell       = (float*)calloc(cell, sizeof(float));
  if (!win->sequence_a || !win->sequence_b || !win->state || !win->cell) {
    sw_cpu_window_scratch_free(win);
    return sw_error_set(err, SW_ERR_NO_MEMORY, "out of memory");
  }
  *scratch = win;
  return SW_SUCCESS;
}

/* Keras Conv1D over a whole sequence: output step j reads input step
   j*s + k*d - pad_before for tap k, zeros outside the input (the padding).
   Taps on padding are skipped: adding 0*w leaves the sum unchanged. */
static void
conv1d_sequence(const SwLayer* const layer, const float* const in,
                float* const out)
{
  const size_t I = layer->input_width;
  const size_t K = layer->kernel_size;
  const long   T = (long)layer->in_steps;
  for (size_t j = 0; j < layer->out_steps; ++j) {
    const long first =
      (long)(j * layer->stride) - (long)layer->pad_before;
    for (size_t u = 0; u < layer->units; ++u) {
      const float* const row = layer->kernel + u * K * I;
      float              sum = layer->bias[u];
      for (size_t k = 0; k < K; ++k) {
        const long t = first + (long)(k * layer->dilation);
        if (t < 0 || t >= T) {
          continue;
        }
        const float* const frame = in + (size_t)t * I;
        for (size_t c = 0; c < I; ++c) {
          sum += row[k * I + c] * frame[c];
        }
      }
      out[j * layer->units + u] = sw_activate(layer->activation, sum);
    }
  }
}

/* A stateless recurrent layer over the whole sequence, from its initial
   state (zeros or learned), keeping every step's h. */
static void
recurrent_sequence(SwWindowScratch* const win, const SwLayer* const layer,
                   const float* const in, float* const out)
{
  const size_t U = layer->units;
  const size_t I = layer->input_width;
  float* const h = win->state;
  float* const c = win->state + U;
  if (layer->initial_h) {
    memcpy(h, layer->initial_h, U * sizeof(float));
  } else {
    memset(h, 0, U * sizeof(float));
  }
  if (layer->initial_c) {
    memcpy(c, layer->initial_c, U * sizeof(float));
  } else {
    memset(c, 0, U * sizeof(float));
  }
  for (size_t t = 0; t < layer->in_steps; ++t) {
    const float* const x = in + t * I;
    switch (layer->type) {
    case SW_LAYER_LSTM:
      sw_cpu_lstm_step(layer, x, h, c, win->cell);
      break;
    case SW_LAYER_GRU:
      sw_cpu_gru_step(layer, x, h, win->cell);
      break;
    default:
      sw_cpu_simple_rnn_step(layer, x, h, win->cell);
      break;
    }
    memcpy(out + t * U, h, U * sizeof(float));
  }
}

const float*
sw_cpu_window_step(SwWindowScratch* const win, float* const history,
                   const float* const x)
{
  const SwModel* const model = win->model;
  const size_t         I     = model->input_width;
  const size_t         W     = model->window;

  memmove(history, history + I, (W - 1U) * I * sizeof(float));
  memcpy(history + (W - 1U) * I, x, I * sizeof(float));

  const float* in    = history;
  size_t       steps = W;
  size_t       width = I;
  for (uint32_t l = 0; l < model->num_layers; ++l) {
    const SwLayer* const layer = &model->layers[l];
    float* const out = in == win->sequence_a ? win->sequence_b
                                             : win->sequence_a;
    if (l == win->dense_tail) {
      in += (steps - 1U) * width; /* from here on, the last step only */
      steps = 1U;
    }
    switch (layer->type) {
    case SW_LAYER_CONV1D:
      conv1d_sequence(layer, in, out);
      steps = layer->out_steps;
      break;
    case SW_LAYER_LSTM:
    case SW_LAYER_GRU:
    case SW_LAYER_SIMPLE_RNN:
      recurrent_sequence(win, layer, in, out);
      break;
    case SW_LAYER_DENSE:
      for (size_t t = 0; t < steps; ++t) {
        sw_cpu_dense(layer, in + t * width, out + t * layer->units);
      }
      break;
    }
    in    = out;
    width = layer->units;
  }
  return in + (steps - 1U) * width;
}
